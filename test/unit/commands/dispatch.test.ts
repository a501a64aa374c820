import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineCommand, defineSubcommand } from '../../../commands/core/command.js';
import { dispatchLine, dispatchText, dispatchWords } from '../../../commands/core/dispatch.js';
import { Registry } from '../../../commands/core/registry.js';
import { commands } from '../../../commands/index.js';
import { ExperimentName } from '../../../src/args.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import * as z from '../../../src/zod.js';
import { cliUser, commandDeps, RecordingTransport, slackUser } from '../../helpers/command-deps.js';

// A command that creates `<dir>/<experiment>` on the "cluster" (an empty file, through the cluster's files)
// so a test can see whether anything ran.
const touch = defineCommand({
  name: 'probe',
  summary: 'test command',
  usageHint: 'touch <experiment>',
  subcommands: [
    defineSubcommand({
      name: 'touch',
      summary: 'touch a file',
      usage: '/probe touch <experiment> [--dir d]',
      help: 'test',
      permission: 'operate',
      positionals: ['experiment'],
      flags: { dir: 'string' },
      args: z.object({ experiment: ExperimentName, dir: z.string() }),
      async run(args, ctx) {
        await ctx.services.files.writeText(join(args.dir, args.experiment), '');
        return { text: `touched ${args.experiment}`, data: { ok: true } };
      },
    }),
  ],
});

describe('dispatch', () => {
  it('answers help at every level', async () => {
    const deps = commandDeps();
    const top = await dispatchLine(deps, cliUser(), 'help');
    expect(top.title).toBe('Commands');
    expect(top.table?.rows.map((r) => r[0])).toContain('/train list [user]');
    const cmd = await dispatchText(deps, slackUser(), '/train', '');
    expect(cmd.title).toBe('/train');
    expect(cmd.ephemeral).toBe(true);
    for (const text of ['help list', 'list --help', 'list -h']) {
      const sub = await dispatchText(deps, slackUser(), '/train', text);
      expect(sub.title).toBe('/train list');
      expect(sub.context).toContain('Usage: /train list [user]');
    }
    // every subcommand of every registered command has a help page
    for (const c of commands) {
      for (const s of c.subcommands) {
        const r = await dispatchText(deps, slackUser(), c.name, `help ${s.name}`);
        expect(r.title).toBe(`/${c.name} ${s.name}`);
      }
    }
  });

  it('names unknown commands and subcommands with what exists', async () => {
    const deps = commandDeps();
    const r = await dispatchLine(deps, cliUser(), '/nope x');
    expect(r.level).toBe('error');
    expect(r.text).toMatch(/Unknown command "nope". Commands: \/train, \/ckpt/);
    const s = await dispatchText(deps, slackUser(), 'train', 'frobnicate');
    expect(s.text).toMatch(/Unknown subcommand "frobnicate" for \/train. Try: .*list.*, help\./);
    expect(deps.audit.records.map((a) => a.outcome)).toEqual(['invalid', 'invalid']);
  });

  it('refuses operate commands to non-operators, runs nothing, and audits the refusal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dispatch-'));
    const transport = new RecordingTransport(new LocalTransport());
    const deps = commandDeps({ transport, registry: new Registry([touch]), env: { OPERATORS: 'U0BOSS' } });
    const refused = await dispatchText(deps, slackUser('U0NOBODY'), 'probe', `touch exp1 --dir ${dir}`);
    expect(refused.level).toBe('error');
    expect(refused.text).toMatch(/operators only.*U0NOBODY is not in OPERATORS/);
    expect(transport.calls).toEqual([]);
    expect(existsSync(join(dir, 'exp1'))).toBe(false);
    expect(deps.audit.records).toHaveLength(1);
    expect(deps.audit.records[0]).toMatchObject({
      user: 'U0NOBODY',
      channel: 'C0TEST',
      command: `/probe touch exp1 --dir ${dir}`,
      outcome: 'refused',
      argv: [],
    });
    const cli = await dispatchWords(deps, cliUser('alice'), 'probe', ['touch', 'exp1', '--dir', dir]);
    expect(cli.text).toMatch(/unix user alice is not in CLI_OPERATORS/);
    expect(transport.calls).toEqual([]);
    expect(existsSync(join(dir, 'exp1'))).toBe(false);

    const cliDeps = commandDeps({
      transport,
      registry: new Registry([touch]),
      env: { CLI_OPERATORS: 'alice' },
    });
    const cliOk = await dispatchWords(cliDeps, cliUser('alice'), 'probe', ['touch', 'exp0', '--dir', dir]);
    expect(cliOk.text).toBe('touched exp0');
    expect(existsSync(join(dir, 'exp0'))).toBe(true);
    expect(cliDeps.audit.records[0]).toMatchObject({ user: 'unix:alice', source: 'cli', outcome: 'ok' });
    transport.calls.length = 0;

    const ok = await dispatchText(deps, slackUser('U0BOSS'), 'probe', `touch exp1 --dir ${dir}`);
    expect(ok.text).toBe('touched exp1');
    const wrote = ['sh', 'write-file.sh', join(dir, 'exp1')];
    expect(transport.calls).toEqual([wrote]);
    expect(deps.audit.records.at(-1)).toMatchObject({ outcome: 'ok', argv: [wrote] });
    expect(readFileSync(join(dir, 'exp1'), 'utf8')).toBe('');
  });

  it('writes the audit record before an operate command acts, and refuses when it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dispatch-audit-'));
    const transport = new RecordingTransport(new LocalTransport());
    const deps = commandDeps({
      transport,
      registry: new Registry([touch, ...commands]),
      env: { OPERATORS: 'U0BOSS' },
    });
    const ok = await dispatchText(deps, slackUser('U0BOSS'), 'probe', `touch exp1 --dir ${dir}`);
    expect(ok.text).toBe('touched exp1');
    expect(deps.audit.begun).toEqual([
      expect.objectContaining({
        user: 'U0BOSS',
        command: `/probe touch exp1 --dir ${dir}`,
        outcome: 'started',
        argv: [],
      }),
    ]);
    transport.calls.length = 0;

    deps.audit.failBegin = new Error('ENOSPC: no space left on device');
    const refused = await dispatchText(deps, slackUser('U0BOSS'), 'probe', `touch exp2 --dir ${dir}`);
    expect(refused.level).toBe('error');
    expect(refused.text).toMatch(
      /^Refused: \/probe touch exp2 .* its audit record could not be written \(memory: ENOSPC: no space left on device\)\. Nothing was done\./,
    );
    expect(transport.calls).toEqual([]);
    expect(existsSync(join(dir, 'exp2'))).toBe(false);
    expect(deps.audit.records.at(-1)).toMatchObject({ outcome: 'refused' });
    // Reading commands do not need a record first.
    const help = await dispatchText(deps, slackUser('U0BOSS'), 'probe', 'help');
    expect(help.level).not.toBe('error');
  });

  it('turns hostile text into a clear error or an inert argument, never a crash or a run', async () => {
    const transport = new RecordingTransport(new LocalTransport());
    const deps = commandDeps({
      transport,
      registry: new Registry([touch]),
      env: { OPERATORS: 'U0BOSS' },
    });
    const boss = slackUser('U0BOSS');
    const hostile = [
      'touch "x; rm -rf /" --dir /tmp',
      'touch $(id) --dir /tmp',
      'touch `id` --dir /tmp',
      "touch 'a' 'b' --dir /tmp",
      'touch exp\nrm -rf / --dir /tmp',
      `touch ${'A'.repeat(10_000)} --dir /tmp`,
      `touch ${'A'.repeat(300)} --dir /tmp`,
      'touch 実験 --dir /tmp',
      'touch ../../etc --dir /tmp',
      'touch "unbalanced --dir /tmp',
      'touch -rf --dir /tmp',
      'touch exp --dir',
    ];
    for (const text of hostile) {
      const r = await dispatchText(deps, boss, 'probe', text);
      expect(r.level, text.slice(0, 40)).toBe('error');
      expect(r.text?.length ?? 0).toBeLessThan(400);
      expect(r.text).not.toMatch(/Something went wrong/);
    }
    expect(transport.calls).toEqual([]);
    expect(deps.audit.records).toHaveLength(hostile.length);
    expect(deps.audit.records.every((a) => a.outcome === 'invalid')).toBe(true);
    const missing = await dispatchText(deps, boss, 'probe', 'touch --dir /tmp');
    expect(missing.text).toBe('<experiment> is missing.');
    expect(missing.context).toEqual(['Usage: /probe touch <experiment> [--dir d]']);
  });

  it('lists checkpoints per experiment, most first, in one remote command', async () => {
    const base = await mkdtemp(join(tmpdir(), 'ckpt-base-'));
    const tree: Record<string, number[]> = { small: [100], big: [100, 200, 300], mid: [50, 1000] };
    for (const [exp, steps] of Object.entries(tree)) {
      for (const s of steps) await mkdir(join(base, exp, `global_step${s}`), { recursive: true });
    }
    await mkdir(join(base, 'empty', 'not_a_checkpoint'), { recursive: true });
    const transport = new RecordingTransport(new LocalTransport());
    const deps = commandDeps({ transport, env: { CHECKPOINTS_BASE_DIR: base } });
    const r = await dispatchText(deps, slackUser(), 'ckpt', 'list');
    expect(r.table?.rows).toEqual([
      ['big', '3', '300'],
      ['mid', '2', '1000'],
      ['small', '1', '100'],
    ]);
    expect(r.data).toMatchObject({ totalCheckpoints: 6 });
    expect(transport.calls).toHaveLength(1);
    expect(deps.audit.records[0]?.argv[0]?.[0]).toBe('find');

    const gone = commandDeps({
      transport: new LocalTransport(),
      env: { CHECKPOINTS_BASE_DIR: join(base, 'does-not-exist') },
    });
    const m = await dispatchText(gone, slackUser(), 'ckpt', 'list');
    expect(m.level).toBe('error');
    expect(m.text).toMatch(/does not exist on the cluster. Check CHECKPOINTS_BASE_DIR.*sf_model_organisms/);
    const extra = await dispatchText(gone, slackUser(), 'ckpt', 'list ; id');
    expect(extra.text).toMatch(/takes no arguments, but got ";"/);
  });
});
