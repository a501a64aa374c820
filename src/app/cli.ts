import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Subcommand } from '../../commands/core/command.js';
import type { Invoker } from '../../commands/core/dispatch.js';
import type { Registry } from '../../commands/core/registry.js';
import { createRegistry } from '../../commands/index.js';
import {
  AuditLog,
  type AuditLogOptions,
  type AuditRecord,
  type AuditSink,
  AuditUnavailable,
} from '../audit.js';
import { type CliOutput, runOnce, takeJsonFlag } from '../cli/cli.js';
import type { WaitForWork } from '../cli/console.js';
import { ConsoleButtons } from '../cli/console-buttons.js';
import { ConsoleCharts } from '../cli/console-charts.js';
import { ConsoleMessenger } from '../cli/console-messenger.js';
import type { Config } from '../config.js';
import { type LogSettings, readLogSettings } from '../log-settings.js';
import { createLogger, type Logger } from '../logger.js';
import { asyncFiles, syncFiles } from '../node-fs.js';
import { notBuilt, offlineServices } from './offline-services.js';
import { readEnv } from './read-env.js';

// `chatops …`: the CLI entry. The user is the local unix user (`unix:<name>`); `operate` commands need the
// name in CLI_OPERATORS (OPERATORS holds Slack ids, which a terminal cannot prove).
// It loads what the invocation needs: help and unknown names are answered from the registry (no subcommand's
// code); they and the offline helpers read no configuration beyond AUDIT_LOG and LOG_LEVEL, and the helpers
// run on offlineServices (no Redis, no SSH, none of their clients loaded); a cluster command, the console
// and the demo import the runtime (runtime.ts), which connects to each service only when a command first
// uses it.

/** The channel name of this console's own messages when it runs the background work. */
export const CONSOLE_CHANNEL = 'console';

export interface CliEnvironment {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Extra environment for a local transport (the demo's SLURM_CONF). */
  readonly localEnv?: Readonly<Record<string, string>>;
  readonly user?: string;
  /** Where the console writes chart PNGs; default a fresh `chatops-charts-*` temp dir. */
  readonly chartDir?: string;
  /** Printed after the console's banner (the demo's "things to try"). */
  readonly banner?: string;
  /** What the console's `wait` line runs, when not `background` (which brings its own). */
  readonly waitForWork?: WaitForWork;
  /** Read `.env` in the working directory (default yes; the demo brings every setting itself). */
  readonly readDotEnv?: boolean;
  /**
   * Run the bot's background work in this process (the demo): the training watch, the upload worker and
   * the sweeps start with the console, and `wait` waits for what this session started, at most this long.
   */
  readonly background?: { readonly waitTimeoutMs: number };
}

export async function cliMain(e: CliEnvironment): Promise<number> {
  const io: CliOutput = { out: (s) => void e.stdout.write(s), err: (s) => void e.stderr.write(s) };
  const merged = e.readDotEnv === false ? { ...e.env } : readEnv(e.env);
  const registry = createRegistry();
  const words = takeJsonFlag(e.argv).words;
  const oneShot = e.argv[0] !== 'console' && !e.background;
  const offline = oneShot && runsOffline(registry, words);
  // Help, unknown names and the offline helpers use no setting but the audit file and the log level, so
  // they read nothing else of the configuration (a bad value elsewhere is for the commands that use it to
  // report). Were either of the two invalid, the whole reading below says so. An `operate` subcommand
  // reads it all: the operator check needs CLI_OPERATORS.
  const logOnly = offline && !operates(registry, words) ? readLogSettings(merged) : null;
  const read = logOnly ? { logSettings: logOnly, settings: null } : await readConfig(merged, io);
  if (typeof read === 'number') return read;
  const { logSettings, settings } = read;
  // The terminal's stdout carries answers: logs go to stderr, quiet unless LOG_LEVEL asks for more.
  const level = merged.LOG_LEVEL ? logSettings.LOG_LEVEL : 'warn';
  const log = createLogger({ level, pretty: e.stderr.isTTY === true, destination: e.stderr });
  // A one-shot call has nothing else to do while it writes its record, or reads a local log.
  const files = oneShot ? syncFiles : asyncFiles;
  const audit = await openAudit(logSettings.AUDIT_LOG, log, io, { files });
  // Out-of-band messages (a batch's progress, a watch's report) print where the answers go, numbering
  // their buttons and writing their charts with the console's, so `press N` reaches them too.
  const buttons = new ConsoleButtons();
  const charts = new ConsoleCharts(e.chartDir === undefined ? {} : { dir: e.chartDir });
  const messenger = new ConsoleMessenger(io.out, { buttons, charts });
  const name = e.user ?? userInfo().username;
  if (!settings || offline) {
    const inv: Invoker = { user: { id: `unix:${name}`, name }, source: 'cli' };
    const config =
      settings?.config ?? notBuilt<Config>('the configuration (an offline command does not read it)');
    const deps = { registry, services: offlineServices(messenger, files), config, audit, log };
    return runOnce(deps, inv, e.argv, io);
  }
  const { config, clusterProblems } = settings;
  const { buildRuntime } = await import('./runtime.js');
  const runtime = await buildRuntime(config, log, audit, {
    messenger,
    ...(e.localEnv ? { localEnv: e.localEnv } : {}),
    clusterProblems,
  });
  const since = Date.now();
  const background = e.background;
  const waitForWork: WaitForWork | undefined = background
    ? (say) => runtime.waitForWork({ since, timeoutMs: background.waitTimeoutMs, say })
    : e.waitForWork;
  // With the background work here, this console is where its messages go: name it as their channel, so a
  // batch gets its progress message and a watch its thread, as in Slack.
  const inv: Invoker = {
    user: { id: `unix:${name}`, name },
    source: 'cli',
    ...(e.background ? { channel: CONSOLE_CHANNEL } : {}),
  };
  const deps = {
    registry,
    services: runtime.services,
    config,
    audit,
    log,
  };
  try {
    if (e.background) await runtime.start();
    if (e.argv[0] === 'console') {
      const { runConsole } = await import('../cli/console.js');
      return await runConsole(deps, inv, {
        input: e.stdin,
        output: e.stdout,
        io,
        historyFile: join(homedir(), '.chatops_history'),
        buttons,
        charts,
        ...(e.banner === undefined ? {} : { banner: e.banner }),
        ...(waitForWork === undefined ? {} : { waitForWork }),
      });
    }
    return await runOnce(deps, inv, e.argv, io);
  } finally {
    await runtime.close();
  }
}

const HELP_WORDS = new Set(['help', '--help', '-h']);

/**
 * Whether a one-shot invocation needs neither the cluster nor the queues: what the dispatcher answers from
 * the registry alone, running no subcommand (help in any form, an unknown command or subcommand, whose
 * error names what exists), a subcommand only the CLI has (those read this machine's files: `train scan-log`), a subcommand refused
 * from a terminal, and a digest of a local directory (`--logs <dir>` instead of the cluster's).
 */
export function runsOffline(registry: Registry, words: readonly string[]): boolean {
  const found = invocation(registry, words);
  if (found === null) return true;
  const { sub, args } = found;
  // Refused from a terminal (the error needs nothing), or a CLI-only helper (it reads this machine's files).
  if (sub.surfaces && !sub.surfaces.includes('cli')) return true;
  if (sub.surfaces?.every((s) => s === 'cli')) return true;
  return sub.flags?.logs !== undefined && args.some((a) => a === '--logs' || a.startsWith('--logs='));
}

/** Whether the words run an `operate` subcommand (whose operator check reads CLI_OPERATORS). */
function operates(registry: Registry, words: readonly string[]): boolean {
  return invocation(registry, words)?.sub.permission === 'operate';
}

/** The subcommand the words run and its arguments, or null when the registry answers them itself. */
function invocation(
  registry: Registry,
  words: readonly string[],
): { sub: Subcommand; args: readonly string[] } | null {
  const [name, first, ...rest] = words;
  if (name === undefined || HELP_WORDS.has(name)) return null;
  const command = registry.command(name.replace(/^\//, ''));
  if (!command) return null;
  if (first === undefined && command.defaultSubcommand === undefined) return null;
  if (first === 'help') return null;
  const byDefault = first === undefined || (first.startsWith('-') && !HELP_WORDS.has(first));
  const sub = registry.subcommand(command, byDefault ? (command.defaultSubcommand ?? '') : first);
  if (!sub) return null;
  const args = byDefault ? words.slice(1) : rest;
  if (args.some((a) => HELP_WORDS.has(a))) return null;
  return { sub, args };
}

interface Settings {
  readonly config: Config;
  readonly clusterProblems: readonly string[];
}

/** The whole configuration, or the exit code once a bad value is named. */
async function readConfig(
  env: Readonly<Record<string, string | undefined>>,
  io: CliOutput,
): Promise<{ logSettings: LogSettings; settings: Settings } | number> {
  const { ConfigError, loadConfigAllowingNoCluster } = await import('../config.js');
  try {
    const settings = loadConfigAllowingNoCluster(env);
    return { logSettings: settings.config, settings };
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n(see .env.example)\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * The audit file if writable. Otherwise records go to the log only, with one warning, and commands that
 * would change something are refused (no action without its audit record); reading ones still run.
 */
async function openAudit(
  path: string,
  log: Logger,
  io: CliOutput,
  opts: AuditLogOptions,
): Promise<AuditSink> {
  const file = new AuditLog(path, log.child({ component: 'audit' }), opts);
  try {
    await file.open();
    return file;
  } catch (err) {
    const why = `cannot write AUDIT_LOG ${path} (${(err as Error).message})`;
    io.err(
      `note: ${why}; audit records go to the log only, and commands that change something are refused\n`,
    );
    return {
      async write(record: AuditRecord) {
        log.info({ audit: record }, 'audit');
      },
      async begin() {
        throw new AuditUnavailable(why);
      },
    };
  }
}
