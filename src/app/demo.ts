import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { type Sandbox, startSandbox } from '../sandbox/start-sandbox.js';
import type { CliEnvironment } from './cli.js';

// `npm run demo`: the whole bot on one machine. It starts the sandbox (Slurm, Redis, sshd, a local Hub and
// the team's file layout), then the console as the local user with every background worker running: the
// training watch, the upload worker, the sweeps. Piped stdin runs exactly the piped lines; `--tour` runs a
// fixed read-only tour. Ctrl-C or SIGTERM at any moment stops everything it started.

export interface DemoEnvironment {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: CliEnvironment['stdin'];
  readonly stdout: CliEnvironment['stdout'];
  readonly stderr: CliEnvironment['stderr'];
}

export const DEMO_USAGE = `Usage: npm run demo [-- --tour]
  (no option)  the console on the sandbox: interactive on a terminal, or the piped lines in order
  --tour       a fixed read-only tour of the commands, then exit
`;

const TOUR = [
  'help',
  '/train list',
  '/ckpt list',
  '/ckpt status demo',
  '/ckpt queue',
  '/digest',
  '/ckpt list --json',
];

const TRY = `Things to try (the sandbox has a NeoX checkout, experiments, past uploads and a local Hub):
  /train submit configs/demo.yml      trains 120 iterations; the 50-iteration report comes in ~15 s
  /train submit configs/demo-oom.yml  runs out of GPU memory at iteration 30: the bot escalates
  /train submit configs/demo-resume.yml  resumes from a missing checkpoint: "press N" resubmits with the fix
  /ckpt upload demo --missing         uploads 6 checkpoints; the local Hub answers 429, the queue pauses
  wait                                until this session's watches and uploads have settled
  /ckpt status demo    /ckpt queue    /train list    /digest    /train cancel <job>
`;

/** Seconds `wait` waits at most (DEMO_WAIT_S overrides). */
const DEFAULT_WAIT_S = 200;

export async function demoMain(e: DemoEnvironment): Promise<number> {
  const say = (s: string) => void e.stderr.write(`[demo] ${s}\n`);
  const unknown = e.argv.filter((a) => a !== '--tour');
  if (unknown.length > 0) {
    e.stderr.write(`demo: unknown option ${unknown.join(' ')}\n${DEMO_USAGE}`);
    return 2;
  }
  const tour = e.argv.includes('--tour');
  const started = Date.now();
  say('starting the sandbox: Slurm, Redis, sshd and a Hugging Face Hub on 127.0.0.1 …');
  // Once a signal stops the sandbox, the bot's complaints about the vanishing Redis and sshd are noise.
  const botErr = muteable(e.stderr);
  // Handlers go in before the sandbox starts, so a signal during start-up still stops what has started.
  const starting = startSandbox();
  const signals = onSignals(starting, say, botErr.mute);
  const sandbox = await starting;
  // A signal during start-up: its handler stops the sandbox and exits; start nothing more.
  if (signals.stopping()) return new Promise<number>(() => {});
  try {
    const charts = await mkdtemp(join(tmpdir(), 'chatops-demo-charts-'));
    const interactive = !tour && e.stdin.isTTY === true;
    say(
      `ready in ${((Date.now() - started) / 1000).toFixed(1)} s — cluster files under ${sandbox.dir}/cluster, ` +
        `charts go to ${charts}` +
        (tour ? '; running the tour' : interactive ? '' : '; running the piped lines'),
    );
    // Imported here, not at the top: reached by dynamic imports only, src/app/cli.ts is a chunk of its own
    // in dist/, which a `chatops` call loads without a re-exporting chunk in front of it.
    const { cliMain } = await import('./cli.js');
    const code = await cliMain({
      argv: ['console'],
      env: { ...pick(e.env, ['PATH', 'HOME', 'LANG', 'TERM', 'LOG_LEVEL']), ...sandbox.settings },
      stdin: tour ? Readable.from([`${TOUR.join('\n')}\n`]) : e.stdin,
      stdout: e.stdout,
      stderr: botErr.stream,
      readDotEnv: false,
      background: { waitTimeoutMs: waitSeconds(e.env) * 1000 },
      chartDir: charts,
      banner: TRY,
    });
    say(`charts written in this session stay in ${charts}`);
    return code;
  } finally {
    // The handlers stay until the stop is done: a signal now joins the same (idempotent) stop.
    say('stopping the sandbox …');
    await sandbox.stop();
    signals.remove();
    say('stopped: every job, daemon and the Hub; its files removed');
  }
}

function waitSeconds(env: Readonly<Record<string, string | undefined>>): number {
  const n = Number(env.DEMO_WAIT_S);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_WAIT_S;
}

function pick(env: Readonly<Record<string, string | undefined>>, keys: readonly string[]) {
  return Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
}

/**
 * Ctrl-C or SIGTERM: stop the sandbox (its Slurm stop cancels the running jobs), then exit 130 or 143. The
 * bot's own connections die with the process. A second signal exits at once; the sandbox's watchdog then
 * still removes what is left.
 */
function onSignals(
  sandbox: Promise<Sandbox>,
  say: (s: string) => void,
  mute: () => void,
): { remove(): void; stopping(): boolean } {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) process.exit(code);
    stopping = true;
    mute();
    say(`${signal}: stopping the sandbox …`);
    sandbox
      .then((s) => s.stop())
      .then(
        () => {
          say('stopped: every job, daemon and the Hub; its files removed');
          process.exit(code);
        },
        () => process.exit(code),
      );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopping: () => stopping,
    remove() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** A stderr for the bot that can be silenced. */
function muteable(target: NodeJS.WritableStream & { isTTY?: boolean }) {
  let muted = false;
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        if (muted) return done();
        target.write(chunk, done);
      },
    }),
    { isTTY: target.isTTY },
  );
  const mute = () => {
    muted = true;
  };
  return { stream, mute };
}
