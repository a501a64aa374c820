import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointFiles } from '../../../src/cluster/checkpoint-files.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';

// checkpoint-sizes.sh run as the cluster runs it (sh -c BODY NAME OPERANDS…), and CheckpointFiles over it
// and over find, on a checkpoint tree whose names hold spaces, quotes and a leading dash.

const SIZES = loadRemoteScript('checkpoint-sizes.sh');
// Relative to the transport's cwd, so the operands themselves start with a dash.
const BASE = `-base dir "q" it's`;
const EXP = '-exp with space';

const LBASE = 'links base';
let work: string;
let outside: string;
let t: LocalTransport;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ckpt-files-'));
  outside = await mkdtemp(join(tmpdir(), 'ckpt-outside-'));
  t = new LocalTransport({ cwd: work });
  const exp = join(work, BASE, EXP);
  for (const [step, bytes] of [
    [100, 64 * 1024],
    [20, 8 * 1024],
  ] as const) {
    await mkdir(join(exp, `global_step${step}`), { recursive: true });
    await writeFile(join(exp, `global_step${step}`, 'mp_rank_00_model_states.pt'), Buffer.alloc(bytes, 1));
  }
  // Matches the glob but names no step; a plain file beside the checkpoints.
  await mkdir(join(exp, 'global_step_notes'));
  await writeFile(join(exp, 'latest'), 'global_step100\n');
  await mkdir(join(work, BASE, 'empty-exp'));
  await mkdir(join(work, BASE, 'other', 'global_step7'), { recursive: true });
  await mkdir(join(work, BASE, '.hidden', 'global_step1'), { recursive: true });
  // Links, under a root of their own: an experiment out of the root, one inside it (an alias), and a
  // step out of the root (the scratch space is beside the work dir, so the other tests never see it).
  await mkdir(join(work, LBASE, 'other', 'global_step7'), { recursive: true });
  await mkdir(join(outside, 'global_step9'), { recursive: true });
  await symlink(outside, join(work, LBASE, 'escape'));
  await symlink(join(work, LBASE, 'other'), join(work, LBASE, 'alias'));
  await symlink(join(outside, 'global_step9'), join(work, LBASE, 'other', 'global_step9'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('checkpoint-sizes.sh', () => {
  it('prints @@ok@@ then one du line per global_step* directory, exit 0', async () => {
    const r = await t.runScript(SIZES, [BASE, EXP]);
    expect(r.exitCode).toBe(0);
    const [head, ...rest] = r.stdout.trimEnd().split('\n');
    expect(head).toBe('@@ok@@');
    const byPath = new Map(
      rest.map((l) => [l.slice(l.indexOf('\t') + 1), Number(l.slice(0, l.indexOf('\t')))]),
    );
    expect([...byPath.keys()].sort()).toEqual(
      ['global_step100', 'global_step20', 'global_step_notes'].map((d) => `${BASE}/${EXP}/${d}`),
    );
    expect(byPath.get(`${BASE}/${EXP}/global_step100`)).toBeGreaterThanOrEqual(64 * 1024);
    expect(byPath.get(`${BASE}/${EXP}/global_step20`)).toBeGreaterThanOrEqual(8 * 1024);
  });

  it('refuses an experiment that links outside the root, and lists no step that does', async () => {
    const out = await t.runScript(SIZES, [LBASE, 'escape']);
    expect(out).toMatchObject({ exitCode: 0, stdout: `@@outside@@\n${outside}\n` });
    // Through the alias inside the root: its own step, not the one linked out of the root.
    for (const name of ['alias', 'other']) {
      const r = await t.runScript(SIZES, [LBASE, name]);
      expect(r.stdout.split('\n').filter((l) => l.includes('\t'))).toEqual([
        expect.stringMatching(new RegExp(`\t${LBASE}/${name}/global_step7$`)),
      ]);
    }
    const files = new CheckpointFiles(t);
    expect(await files.sizes(LBASE, 'escape')).toEqual({ kind: 'outside-root', target: outside });
  });

  it('prints only @@ok@@ for an experiment without checkpoints', async () => {
    const r = await t.runScript(SIZES, [BASE, 'empty-exp']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '@@ok@@\n' });
  });

  it('prints @@noexp@@ and the names in the base for a missing experiment, exit 0', async () => {
    const r = await t.runScript(SIZES, [BASE, 'exp-typo']);
    expect(r.exitCode).toBe(0);
    const [head, ...names] = r.stdout.trimEnd().split('\n');
    expect(head).toBe('@@noexp@@');
    expect(names.sort()).toEqual([EXP, 'empty-exp', 'other'].sort());
  });

  it('prints @@nobase@@ for a missing base, exit 0', async () => {
    const r = await t.runScript(SIZES, ['-no such base', EXP]);
    expect(r).toMatchObject({ exitCode: 0, stdout: '@@nobase@@\n' });
  });

  it('takes an operand that looks like code as a name', async () => {
    const r = await t.runScript(SIZES, [BASE, '$(touch pwned); `touch pwned2`']);
    expect(r.stdout.split('\n')[0]).toBe('@@noexp@@');
    const again = await t.run(['ls', '-A', work]);
    expect(again.stdout.trim().split('\n').sort()).toEqual([BASE, LBASE].sort());
  });
});

describe('CheckpointFiles', () => {
  const files = () => new CheckpointFiles(t);

  it("sizes(): one experiment's steps in order with their sizes, whatever trailing slashes the base has", async () => {
    const l = await files().sizes(`${BASE}//`, EXP);
    expect(l.kind).toBe('ok');
    if (l.kind !== 'ok') return;
    expect(l.checkpoints.map((c) => c.step)).toEqual([20, 100]);
    expect(l.checkpoints[1]?.bytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(await files().sizes(BASE, 'exp-typo')).toMatchObject({ kind: 'missing-experiment' });
    expect(await files().sizes('-nope', EXP)).toEqual({ kind: 'missing-base' });
  });

  it('list(): every <experiment>/global_step<N> under the root from one find, hidden ones too', async () => {
    // The root is an absolute path (config.ts): find would take a leading dash for an option.
    const tree = await files().list(`${join(work, BASE)}/`);
    expect(tree.kind).toBe('ok');
    if (tree.kind !== 'ok') return;
    expect(tree.exitCode).toBe(0);
    const found = tree.checkpoints.map((c) => `${c.experiment}@${c.step}`).sort();
    expect(found).toEqual([`${EXP}@100`, `${EXP}@20`, '.hidden@1', 'other@7'].sort());
    expect(await files().list(join(work, 'missing-root'))).toEqual({ kind: 'missing-base' });
  });
});
