import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineAction, defineCommand, defineSubcommand } from '../../../commands/core/command.js';
import type { DispatchDeps } from '../../../commands/core/dispatch.js';
import { Registry } from '../../../commands/core/registry.js';
import { type ConsoleOptions, runConsole } from '../../../src/cli/console.js';
import { ConsoleButtons } from '../../../src/cli/console-buttons.js';
import { ConsoleCharts } from '../../../src/cli/console-charts.js';
import { ConsoleMessenger } from '../../../src/cli/console-messenger.js';
import type { RunOptions, RunResult, Transport } from '../../../src/cluster/transport.js';
import { errorReply, type Reply, type ReplyChart } from '../../../src/reply.js';
import * as z from '../../../src/zod.js';
import { cliUser, commandDeps } from '../../helpers/command-deps.js';

// What a person sees in the console: numbered buttons that `press N` presses, confirm dialogs asked as y/N,
// charts written to PNG files, and `wait` / `sleep` lines, all in piped mode (one line of stdin after another).

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const chart: ReplyChart = {
  kind: 'line',
  title: 'Job 7: lm_loss',
  xLabel: 'iteration',
  yLabel: 'lm_loss',
  series: [
    {
      name: 'lm_loss',
      points: [
        [10, 3.2],
        [20, 2.9],
        [30, 2.5],
      ],
    },
  ],
};

const confirmDialog = {
  title: 'Note it?',
  text: 'This notes "danger".',
  confirm: 'Note it',
  deny: 'Leave it',
};

/** A command whose replies carry the buttons and charts under test; its action records what was pressed. */
function probeRegistry(pressed: string[]): Registry {
  const sub = (name: string, reply: Reply) =>
    defineSubcommand({
      name,
      summary: name,
      usage: `probe ${name}`,
      help: 'test',
      permission: 'read',
      args: z.object({}),
      async run() {
        return reply;
      },
    });
  return new Registry([
    defineCommand({
      name: 'probe',
      summary: 'test command',
      usageHint: 'buttons|danger|mixed|chart',
      subcommands: [
        sub('buttons', {
          text: 'Two buttons.',
          buttons: [
            { actionId: 'probe.note', label: 'Note a', value: 'a' },
            { actionId: 'probe.note', label: 'Note b', value: 'b' },
          ],
        }),
        sub('danger', {
          level: 'warn',
          title: 'Note danger?',
          buttons: [
            {
              actionId: 'probe.note',
              label: 'Note danger',
              value: 'danger',
              style: 'danger',
              confirm: confirmDialog,
            },
          ],
        }),
        sub('mixed', {
          text: 'One plain, one asking first.',
          buttons: [
            { actionId: 'probe.note', label: 'Note plain', value: 'plain' },
            { actionId: 'probe.note', label: 'Note danger', value: 'danger', confirm: confirmDialog },
          ],
        }),
        sub('chart', { text: 'Loss so far.', chart }),
      ],
      actions: [
        defineAction({
          id: 'probe.note',
          permission: 'read',
          value: z.string(),
          async run(value) {
            pressed.push(value);
            return value === 'fail' ? errorReply('the note failed') : { level: 'ok', text: `noted ${value}` };
          },
        }),
      ],
    }),
  ]);
}

interface Session {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** stdout and stderr interleaved as a terminal shows them. */
  readonly screen: string;
}

async function consoleSession(
  stdin: string,
  opts: ({ registry: Registry } | { deps: DispatchDeps }) & Partial<ConsoleOptions>,
  before?: (write: (s: string) => void) => Promise<void>,
): Promise<Session> {
  let out = '';
  let err = '';
  let screen = '';
  const io = {
    out: (s: string) => {
      out += s;
      screen += s;
    },
    err: (s: string) => {
      err += s;
      screen += s;
    },
  };
  await before?.(io.out);
  const { registry, deps: given, ...rest } = { registry: undefined, deps: undefined, ...opts };
  const deps = given ?? commandDeps({ ...(registry ? { registry } : {}) });
  const code = await runConsole(deps, cliUser(), {
    input: Readable.from([stdin]),
    output: new PassThrough(),
    io,
    ...rest,
  });
  return { code, out, err, screen };
}

describe('the console: buttons', () => {
  it('numbers every button and runs one with `press N` (or `click N`)', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('probe buttons\npress 2\nclick 1\n', { registry: probeRegistry(pressed) });
    expect(s.code).toBe(0);
    expect(s.out).toContain('  [1] Note a   (type: press 1)\n  [2] Note b   (type: press 2)');
    expect(s.out).not.toContain('a Slack button');
    expect(pressed).toEqual(['b', 'a']);
    expect(s.out).toContain('> press 2\n✔ noted b\n');
    expect(s.out).toContain('> click 1\n✔ noted a\n');
  });

  it('keeps numbering across replies and never reuses a number', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('probe buttons\nprobe buttons\npress 4\n', {
      registry: probeRegistry(pressed),
    });
    expect(s.out).toContain('  [3] Note a   (type: press 3)\n  [4] Note b   (type: press 4)');
    expect(pressed).toEqual(['b']);
  });

  it('an unknown number is a failed line naming the valid ones; the later lines still run', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('press 5\nprobe buttons\npress 9\npress x\npress 1\n', {
      registry: probeRegistry(pressed),
    });
    expect(s.code).toBe(1);
    expect(s.err).toContain('✖ There is no button 5. No button has been shown in this console yet.');
    expect(s.err).toContain('✖ There is no button 9. Buttons shown so far: 1–2.');
    expect(s.err).toContain('press: give the number shown next to a button');
    expect(s.err).toContain('Usage: press <number>');
    expect(pressed).toEqual(['a']);
    expect(s.out).toContain('> press 1\n✔ noted a\n');
  });

  it('a failed action is a failed line', async () => {
    const pressed: string[] = [];
    const registry = probeRegistry(pressed);
    const buttons = new ConsoleButtons();
    buttons.add({ actionId: 'probe.note', label: 'Fail', value: 'fail' });
    const s = await consoleSession('press 1\n', { registry, buttons });
    expect(s.code).toBe(1);
    expect(s.err).toContain('✖ the note failed');
  });
});

describe('the console: confirm dialogs', () => {
  it('asks a lone confirm button of an answer at once: y runs it, anything else does not', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('probe danger\ny\nprobe danger\nn\nprobe danger\nYES\n', {
      registry: probeRegistry(pressed),
    });
    expect(s.code).toBe(0);
    expect(pressed).toEqual(['danger', 'danger']);
    expect(s.out).toContain(
      '  [1] Note danger   (type: press 1)\nNote it?: This notes "danger".  [y/N]\n> y\n✔ noted danger\n',
    );
    expect(s.out).toContain('[y/N]\n> n\nLeave it — nothing was done.\n');
    expect(s.out).toContain('[y/N]\n> YES\n✔ noted danger\n');
  });

  it('asks before `press` runs a button with a confirm', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('probe mixed\npress 2\nno\npress 2\nyes\n', {
      registry: probeRegistry(pressed),
    });
    expect(s.code).toBe(0);
    // Two buttons: nothing is asked until one is pressed.
    expect(s.out).toContain('  [2] Note danger   (type: press 2)\n\n> press 2\nNote it?');
    expect(s.out).toContain('> no\nLeave it — nothing was done.');
    expect(pressed).toEqual(['danger']);
  });

  it('input that ends before the answer is a no', async () => {
    const pressed: string[] = [];
    const s = await consoleSession('probe danger\n', { registry: probeRegistry(pressed) });
    expect(s.code).toBe(0);
    expect(s.out).toContain('> (end of input)\nLeave it — nothing was done.');
    expect(pressed).toEqual([]);
  });

  it('`/train cancel` asks "Cancel the job?" and scancels only on y', async () => {
    const scancels: string[] = [];
    const squeueLine = [
      '4242',
      'RUNNING',
      'tester',
      'gpu',
      '1:00',
      '1-00:00:00',
      '1',
      'node1',
      'None',
      '(null)',
      '2026-01-01T00:00:00',
      '2026-01-01T00:00:01',
      'neox-run',
      'chatops:U0TEST',
    ].join('|#|');
    const cluster: Transport = {
      kind: 'local',
      async run(argv: readonly string[], _opts?: RunOptions): Promise<RunResult> {
        if (argv[0] === 'squeue') return { stdout: `${squeueLine}\n`, stderr: '', exitCode: 0 };
        if (argv[0] === 'scancel') {
          scancels.push(String(argv.at(-1)));
          return { stdout: '', stderr: '', exitCode: 0 };
        }
        throw new Error(`unexpected ${argv.join(' ')}`);
      },
      async runScript() {
        throw new Error('no scripts here');
      },
      async close() {},
    };
    const deps = commandDeps({ transport: cluster, env: { CLI_OPERATORS: 'tester' } });
    const s = await consoleSession('train cancel 4242\nn\ntrain cancel 4242\ny\n', { deps });
    const out = s.screen;
    expect(s.code).toBe(0);
    expect(out).toContain(
      '  [1] Cancel job 4242   (type: press 1)\nCancel the job?: scancel 4242 (neox-run).',
    );
    expect(out).toContain('> n\nKeep it — nothing was done.');
    expect(out).toContain('> y\n✔ Cancelled job 4242');
    expect(scancels).toEqual(['4242']);
  });
});

describe('the console: charts', () => {
  it('writes a chart to a PNG file in the given directory and prints its path', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'console-test-')), 'charts');
    const s = await consoleSession('probe chart\nprobe chart\n', {
      registry: probeRegistry([]),
      charts: new ConsoleCharts({ dir }),
    });
    expect(s.code).toBe(0);
    expect(s.out).toContain('Job 7: lm_loss\nlm_loss: ');
    const paths = [...s.out.matchAll(/^ {2}chart: (\S+\.png) \(a terminal cannot show it\)$/gm)].map(
      (m) => m[1],
    );
    expect(paths).toEqual([join(dir, 'job-7-lm-loss-1.png'), join(dir, 'job-7-lm-loss-2.png')]);
    const png = await readFile(paths[0] as string);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  });

  it('without a directory, makes a chatops-charts-* one in the tmpdir on the first chart only', async () => {
    const charts = new ConsoleCharts();
    expect(charts.dir).toBeUndefined();
    const file = await charts.write(chart);
    expect(charts.dir).toMatch(new RegExp(`^${join(tmpdir(), 'chatops-charts-')}`));
    expect(file.startsWith(charts.dir as string)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });
});

describe('the console: wait and sleep', () => {
  it('`wait` without background work is a failed line, and the next line still runs', async () => {
    const s = await consoleSession('wait\nprobe buttons\n', { registry: probeRegistry([]) });
    expect(s.code).toBe(1);
    expect(s.err).toContain('✖ wait: no background work runs in this console (');
    expect(s.out).toContain('[1] Note a');
  });

  it('`wait` runs the hook, which says what it waits for; false is a failed line', async () => {
    for (const settled of [true, false]) {
      const s = await consoleSession('wait\n', {
        registry: probeRegistry([]),
        waitForWork: async (say) => {
          say('waiting for job 7 to finish');
          return settled;
        },
      });
      expect(s.out).toContain('> wait\nwaiting for job 7 to finish\n');
      expect(s.code).toBe(settled ? 0 : 1);
      if (!settled) expect(s.err).toContain('wait: the background work did not settle');
    }
  });

  it('`sleep` pauses for a sane number of seconds and refuses anything else with its usage', async () => {
    const s = await consoleSession('sleep 0.01\nsleep 0\nsleep 601\nsleep soon\n', {
      registry: probeRegistry([]),
    });
    expect(s.code).toBe(1);
    expect(s.err.match(/Usage: sleep <seconds>/g)).toHaveLength(3);
    expect(s.out).toContain('> sleep 0.01\n\n> sleep 0\n');
  });

  it('`help` adds the console lines to the command list', async () => {
    const s = await consoleSession('help\n', { registry: probeRegistry([]) });
    expect(s.code).toBe(0);
    expect(s.out).toContain('probe buttons');
    expect(s.out).toContain('press N  (or click N)');
    expect(s.out).toContain('wait ');
    expect(s.out).toContain('sleep <seconds>');
  });
});

describe('the console messenger', () => {
  it('heads each message with where Slack would show it and numbers its buttons with the console', async () => {
    const pressed: string[] = [];
    const buttons = new ConsoleButtons();
    const dir = await mkdtemp(join(tmpdir(), 'console-test-'));
    const charts = new ConsoleCharts({ dir });
    const s = await consoleSession(
      'probe buttons\npress 1\n',
      { registry: probeRegistry(pressed), buttons, charts },
      async (write) => {
        const messenger = new ConsoleMessenger(write, { buttons, charts });
        const top = await messenger.post({ channel: 'C0TRAIN' }, { text: 'Job 7 started.', chart });
        await messenger.post(
          { channel: 'C0TRAIN', threadTs: top.ts },
          {
            level: 'warn',
            title: 'Job 7: cuda_oom',
            buttons: [{ actionId: 'probe.note', label: 'Resubmit with this fix', value: 'fix' }],
          },
        );
        await messenger.update(top, { text: 'Job 7 finished.' });
        expect(top.ts).toMatch(/^\d+\.\d{6}$/);
      },
    );
    expect(s.code).toBe(0);
    expect(s.screen).toMatch(/^── in #C0TRAIN, message (\d+\.\d{6}) ──\nJob 7 started\./);
    const ts = /message (\d+\.\d{6})/.exec(s.screen)?.[1];
    expect(s.screen).toContain(`  chart: ${join(dir, 'job-7-lm-loss-1.png')} (a terminal cannot show it)`);
    expect(s.screen).toContain(
      `── in #C0TRAIN, thread ${ts} ──\n⚠ Job 7: cuda_oom\n\n  [1] Resubmit with this fix   (type: press 1)\n`,
    );
    expect(s.screen).toContain(`── edit of message ${ts} in #C0TRAIN ──\nJob 7 finished.\n\n> probe buttons`);
    // The console's own buttons come after the messenger's, and `press 1` is the watch's button.
    expect(s.out).toContain('  [2] Note a   (type: press 2)');
    expect(pressed).toEqual(['fix']);
  });
});
