import { access, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterFiles } from '../../../src/cluster/cluster-files.js';
import { parsePathFacts } from '../../../src/cluster/config-paths.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';
import { unprivilegedTransport } from '../../helpers/unprivileged-transport.js';

// read-file.sh, write-file.sh and check-config-paths.sh run as the cluster runs them (sh -c BODY NAME
// OPERANDS…) on a fixture directory. Names are relative to the transport's cwd, so operands start with a
// dash, hold spaces, quotes and a command substitution.

const READ_FILE = loadRemoteScript('read-file.sh');
const WRITE_FILE = loadRemoteScript('write-file.sh');
const CHECK = loadRemoteScript('check-config-paths.sh');
const HOSTILE = ['-lead dash.yml', 'with space.yml', `q'uo"te.yml`, '$(touch pwned).yml'];

let work: string;
let t: LocalTransport;
/** The same programs as an ordinary user: permissions mean what they say. */
let user: LocalTransport;

const pwned = () =>
  access(join(work, 'pwned')).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'config-programs-'));
  await chmod(work, 0o755);
  t = new LocalTransport({ cwd: work });
  user = await unprivilegedTransport(work);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('read-file.sh', () => {
  it('prints a file as it is, at most MAX_BYTES, whatever its name', async () => {
    for (const name of HOSTILE) {
      await writeFile(join(work, name), 'train-iters: 10\nsave: /é\n');
      expect(await t.runScript(READ_FILE, [name, '1000'])).toMatchObject({
        exitCode: 0,
        stdout: 'train-iters: 10\nsave: /é\n',
      });
      expect((await t.runScript(READ_FILE, [name, '5'])).stdout).toBe('train');
    }
    expect(await pwned()).toBe(false);
  });

  it('names why it cannot read: 3 missing, 4 not a regular file, 5 unreadable, 2 wrong operands', async () => {
    await mkdir(join(work, '-a dir.yml'));
    await symlink(join(work, 'nowhere'), join(work, 'dangling.yml'));
    await writeFile(join(work, 'locked.yml'), 'x: 1\n', { mode: 0o600 });
    await chmod(join(work, 'locked.yml'), 0o000);
    await writeFile(join(work, 'open.yml'), 'x: 1\n', { mode: 0o644 });
    expect((await t.runScript(READ_FILE, ['-missing.yml', '10'])).exitCode).toBe(3);
    expect((await t.runScript(READ_FILE, ['dangling.yml', '10'])).exitCode).toBe(3);
    expect((await t.runScript(READ_FILE, ['-a dir.yml', '10'])).exitCode).toBe(4);
    expect(await user.runScript(READ_FILE, ['locked.yml', '10'])).toMatchObject({ exitCode: 5, stdout: '' });
    expect(await user.runScript(READ_FILE, ['open.yml', '10'])).toMatchObject({
      exitCode: 0,
      stdout: 'x: 1\n',
    });
    const usage = await t.runScript(READ_FILE, ['open.yml']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toMatch(/usage: read-file.sh FILE MAX_BYTES/);
  });
});

describe('write-file.sh', () => {
  it('writes stdin exactly, replacing what was there, whatever the name', async () => {
    for (const name of HOSTILE) {
      const path = join(work, `new ${name}`);
      await writeFile(path, 'old contents that are longer\n');
      const r = await t.runScript(WRITE_FILE, [`new ${name}`], { input: 'iteration: 200\n# ü, no newline' });
      expect(r).toMatchObject({ exitCode: 0, stdout: '' });
      expect(await readFile(path, 'utf8')).toBe('iteration: 200\n# ü, no newline');
    }
    const dashed = await t.runScript(WRITE_FILE, ['-n'], { input: 'x' });
    expect(dashed.exitCode).toBe(0);
    expect(await readFile(join(work, '-n'), 'utf8')).toBe('x');
    expect(await pwned()).toBe(false);
  });

  it('exits 1 when the file cannot be written, 2 without exactly one operand', async () => {
    const noDir = await t.runScript(WRITE_FILE, ['no such dir/x.yml'], { input: 'x' });
    expect(noDir.exitCode).toBe(1);
    expect(noDir.stderr).not.toBe('');
    // work is root's and 0755: an ordinary user cannot create files in it
    expect((await user.runScript(WRITE_FILE, ['by-nobody.yml'], { input: 'x' })).exitCode).toBe(1);
    await expect(access(join(work, 'by-nobody.yml'))).rejects.toThrow();
    expect((await t.runScript(WRITE_FILE, [], { input: 'x' })).exitCode).toBe(2);
    expect((await t.runScript(WRITE_FILE, ['a', 'b'], { input: 'x' })).exitCode).toBe(2);
  });
});

describe('check-config-paths.sh', () => {
  let root: string;
  beforeAll(async () => {
    root = join(work, 'paths');
    for (const d of [
      'save ok',
      'load/global_step10',
      'load/global_step2',
      'load/global_stepx',
      `data/-q'"`,
      'data/sib',
      'logs',
    ])
      await mkdir(join(root, d), { recursive: true });
    await chmod(join(root, 'save ok'), 0o777);
    await mkdir(join(root, 'save ro'), { mode: 0o755 });
    await writeFile(join(root, 'load', 'global_step5'), 'a file, not a checkpoint');
    await writeFile(join(root, 'afile'), 'x');
    for (const f of [`-q'"/corpus.bin`, `-q'"/corpus.idx`, `-q'"/other.bin`, 'sib/s.bin', 'sib/s.idx'])
      await writeFile(join(root, 'data', f), 'x');
    await writeFile(join(root, 'data', 'sib', 'not-data.txt'), 'x');
  });
  const p = (rel: string) => join(root, rel);
  const lines = async (transport: LocalTransport, operands: string[]) => {
    const r = await transport.runScript(CHECK, operands);
    expect(r.exitCode).toBe(0);
    return r.stdout.trimEnd().split('\n');
  };

  it('prints one record a line, in order: logs, save, load, ckpt, steps, then data with nearby .bin files', async () => {
    const out = await lines(t, [
      p('save ok'),
      p('load'),
      '2',
      p('no logs'),
      p(`data/-q'"/corpus`),
      p(`data/-q'"/typo`),
      p('data/gone/x'),
    ]);
    expect(out.slice(0, 4)).toEqual(['logs missing', 'save ok', 'load ok', 'ckpt ok']);
    expect(out.slice(4, 7).sort()).toEqual(['step 10', 'step 2', 'step x']);
    expect(out.slice(7)).toEqual([
      `data 1 1 ${p(`data/-q'"/corpus`)}`,
      `data 0 0 ${p(`data/-q'"/typo`)}`,
      `near ${p(`data/-q'"/corpus.bin`)}`,
      `near ${p(`data/-q'"/other.bin`)}`,
      // its directory is missing: the .bin files of the directories beside it
      `data 0 0 ${p('data/gone/x')}`,
      `near ${p(`data/-q'"/corpus.bin`)}`,
      `near ${p(`data/-q'"/other.bin`)}`,
      `near ${p('data/sib/s.bin')}`,
    ]);
  });

  it('tells the save states apart, as the job user sees them', async () => {
    const save = async (dir: string) => (await lines(user, [dir, '', '', '']))[0];
    expect(await save(p('save ok'))).toBe('save ok');
    expect(await save(p('save ro'))).toBe('save notwritable');
    expect(await save(p('afile'))).toBe('save notdir');
    expect(await save(p('-no save'))).toBe('save missing');
  });

  it('asks nothing it was not given: empty operands print no record', async () => {
    expect(await t.runScript(CHECK, ['', '', '', ''])).toMatchObject({ exitCode: 0, stdout: '' });
    // an iteration without load is not checked; a present log dir prints nothing
    expect(await lines(t, ['', '', '7', p('logs')])).toEqual(['']);
    expect(await lines(t, ['', p('nothing here'), '7', ''])).toEqual(['load missing', 'ckpt missing']);
    expect(await lines(t, ['', '', '', '', p('data/sib/s')])).toEqual([`data 1 1 ${p('data/sib/s')}`]);
  });

  it('exits 2 with fewer than four operands', async () => {
    const r = await t.runScript(CHECK, ['', '', '']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: check-config-paths.sh/);
  });

  it('ClusterFiles.checkPaths turns the records into facts', async () => {
    const facts = await new ClusterFiles(t).checkPaths({
      save: p('save ok'),
      load: p('load'),
      iteration: 3,
      logDir: p('logs'),
      data: [p(`data/-q'"/corpus`), p('data/sib/t')],
    });
    expect({ ...facts, steps: [...facts.steps].sort((a, b) => a - b) }).toEqual({
      logDir: 'ok',
      save: 'ok',
      load: 'ok',
      checkpoint: 'missing',
      steps: [2, 10],
      data: [
        { prefix: p(`data/-q'"/corpus`), bin: true, idx: true, near: [] },
        { prefix: p('data/sib/t'), bin: false, idx: false, near: [p('data/sib/s.bin')] },
      ],
    });
  });

  it('a record for a prefix that was not asked about (a file name holding a newline) is ignored', () => {
    const req = { save: null, load: null, iteration: null, logDir: null, data: ['/d/a'] };
    const facts = parsePathFacts('data 0 1 /d/a\nnear /d/x.bin\ndata 1 1 /d/forged\nnear /d/y.bin\n', req);
    expect(facts.data).toEqual([{ prefix: '/d/a', bin: false, idx: true, near: ['/d/x.bin'] }]);
    expect(facts).toMatchObject({ logDir: null, save: null, load: null, checkpoint: null, steps: [] });
  });
});
