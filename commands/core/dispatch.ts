import {
  type AuditOutcome,
  type AuditRecord,
  type AuditSink,
  AuditUnavailable,
  InvocationRecorder,
  withInvocation,
} from '../../src/audit.js';
import type { Config } from '../../src/config.js';
import { ClusterError, trimStderr, UserError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import { errorReply, type Reply } from '../../src/reply.js';
import type {
  ActionHandler,
  ActionImpl,
  Command,
  CommandContext,
  CommandUser,
  Subcommand,
} from './command.js';
import { commandHelp, registryHelp, subcommandHelp } from './help.js';
import { parseArgs, shorten, validateArgs } from './parse-args.js';
import type { Registry } from './registry.js';
import type { Services } from './services.js';
import { tokenize } from './tokenize.js';

// The one path from "someone typed something" to a Reply, shared by Slack, the CLI, the console and tests:
// tokenise → find the subcommand → help? → permission → zod → run → audit. Never throws.

export interface DispatchDeps {
  readonly registry: Registry;
  readonly services: Services;
  readonly config: Config;
  readonly audit: AuditSink;
  readonly log: Logger;
  readonly now?: () => Date;
  /** Commands by name and outcome, and those in flight (the bot's ops metrics; absent in tests). */
  readonly metrics?: Metrics;
}

export interface Invoker {
  readonly user: CommandUser;
  readonly channel?: string;
  readonly source: 'slack' | 'cli';
}

const HELP_WORDS = new Set(['help', '--help', '-h']);

/** Operators by Slack user id (OPERATORS); on the CLI by unix user name (CLI_OPERATORS). */
export function isOperator(inv: Invoker, config: Config): boolean {
  if (inv.source === 'slack') return config.OPERATORS.includes(inv.user.id);
  return inv.user.name !== undefined && config.CLI_OPERATORS.includes(inv.user.name);
}

/** Slack: `/train` + its text. */
export async function dispatchText(
  deps: DispatchDeps,
  inv: Invoker,
  command: string,
  text: string,
): Promise<Reply> {
  const name = command.replace(/^\//, '');
  const shown = `/${name}${text.trim() === '' ? '' : ` ${text.trim()}`}`;
  let words: string[];
  try {
    words = tokenize(text);
  } catch (e) {
    const cmd = deps.registry.command(name);
    return finish(deps, inv, shown, e, cmd ? commandUsage(cmd) : undefined);
  }
  return dispatchWords(deps, inv, name, words, shown);
}

/** Console: a whole line, `/ckpt status x`, `ckpt status x` or `help`. */
export async function dispatchLine(deps: DispatchDeps, inv: Invoker, line: string): Promise<Reply> {
  const shown = line.trim();
  let words: string[];
  try {
    words = tokenize(line);
  } catch (e) {
    return finish(deps, inv, shorten(shown, 200), e);
  }
  const [first, ...rest] = words;
  if (first === undefined) return registryHelp(deps.registry);
  return dispatchWords(deps, inv, first.replace(/^\//, ''), rest, shown);
}

/** CLI: words already split by the user's shell. */
export function dispatchWords(
  deps: DispatchDeps,
  inv: Invoker,
  commandName: string,
  words: readonly string[],
  shown = [`/${commandName}`, ...words].join(' '),
): Promise<Reply> {
  return counted(deps, () => runWords(deps, inv, commandName, words, shown));
}

async function runWords(
  deps: DispatchDeps,
  inv: Invoker,
  commandName: string,
  words: readonly string[],
  shown: string,
): Promise<Reply> {
  const startedAt = Date.now();
  const recorder = new InvocationRecorder();
  const done = (reply: Reply, outcome: AuditOutcome, message?: string) =>
    audit(deps, inv, shown, recorder, outcome, startedAt, message).then(() => reply);

  if (HELP_WORDS.has(commandName)) return done(registryHelp(deps.registry), 'ok');
  const command = deps.registry.command(commandName);
  if (!command) {
    const known = deps.registry.commands.map((c) => `/${c.name}`).join(', ');
    const msg = `Unknown command ${JSON.stringify(shorten(commandName, 40))}. Commands: ${known}, help.`;
    return done(errorReply(msg), 'invalid', msg);
  }

  const [first, ...rest] = words;
  if (first === undefined && !command.defaultSubcommand) return done(commandHelp(command), 'ok');
  if (first === 'help') {
    const target = rest[0] === undefined ? undefined : deps.registry.subcommand(command, rest[0]);
    return done(target ? subcommandHelp(command, target) : commandHelp(command), 'ok');
  }
  let sub: Subcommand | undefined;
  let args: readonly string[];
  if (first === undefined || (first.startsWith('-') && !HELP_WORDS.has(first))) {
    sub = deps.registry.subcommand(command, command.defaultSubcommand as string);
    args = words;
  } else {
    sub = deps.registry.subcommand(command, first);
    args = rest;
  }
  if (!sub) {
    const names = command.subcommands.map((s) => s.name).join(', ');
    const msg = `Unknown subcommand ${JSON.stringify(shorten(first ?? '', 40))} for /${command.name}. Try: ${names}, help.`;
    return done(errorReply(msg, commandUsage(command)), 'invalid', msg);
  }
  if (args.some((a) => HELP_WORDS.has(a))) return done(subcommandHelp(command, sub), 'ok');

  if (sub.surfaces && !sub.surfaces.includes(inv.source)) {
    const msg = `${sub.usage.split(' ').slice(0, 2).join(' ')} is available only from ${sub.surfaces.join(' and ')}.`;
    return done(errorReply(msg, sub.usage), 'invalid', msg);
  }
  if (sub.permission === 'operate' && !isOperator(inv, deps.config)) {
    const msg = refusal(inv, `/${command.name} ${sub.name}`);
    return done(errorReply(msg), 'refused', msg);
  }

  const ctx = context(deps, inv, recorder);
  try {
    const raw = parseArgs(args, sub, sub.usage);
    const impl = await sub.load();
    const parsed = validateArgs(raw, sub, impl.args);
    if (sub.permission === 'operate') await begin(deps, inv, shown, recorder, startedAt);
    const reply = await withInvocation(recorder, () => impl.run(parsed, ctx));
    return done(
      reply,
      reply.level === 'error' ? 'error' : 'ok',
      reply.level === 'error' ? reply.text : undefined,
    );
  } catch (e) {
    return finish(deps, inv, shown, e, sub.usage, recorder, startedAt);
  }
}

/** A button click: look the action up, check permission, validate the value, run. */
export function dispatchAction(
  deps: DispatchDeps,
  inv: Invoker,
  actionId: string,
  value: string,
): Promise<Reply> {
  return counted(deps, () => runAction(deps, inv, actionId, value));
}

async function runAction(deps: DispatchDeps, inv: Invoker, actionId: string, value: string): Promise<Reply> {
  const startedAt = Date.now();
  const recorder = new InvocationRecorder();
  const shown = `[button ${actionId}] ${shorten(value, 200)}`;
  const found = deps.registry.action(actionId);
  const done = (reply: Reply, outcome: AuditOutcome, message?: string) =>
    audit(deps, inv, shown, recorder, outcome, startedAt, message).then(() => reply);
  if (!found) return done(errorReply(`Unknown action ${shorten(actionId, 60)}.`), 'invalid');
  const action: ActionHandler = found.action;
  if (action.permission === 'operate' && !isOperator(inv, deps.config)) {
    const msg = refusal(inv, `this button (/${found.command.name})`);
    return done(errorReply(msg), 'refused', msg);
  }
  let impl: ActionImpl;
  try {
    impl = await action.load();
  } catch (e) {
    return finish(deps, inv, shown, e, commandUsage(found.command), recorder, startedAt);
  }
  const parsed = impl.value.safeParse(value);
  if (!parsed.success) {
    const msg = `The button's value is not valid: ${parsed.error.issues[0]?.message ?? 'invalid'}.`;
    return done(errorReply(msg), 'invalid', msg);
  }
  const ctx = context(deps, inv, recorder);
  try {
    if (action.permission === 'operate') await begin(deps, inv, shown, recorder, startedAt);
    const reply = await withInvocation(recorder, () => impl.run(parsed.data, ctx));
    return done(reply, reply.level === 'error' ? 'error' : 'ok');
  } catch (e) {
    return finish(deps, inv, shown, e, commandUsage(found.command), recorder, startedAt);
  }
}

/** In flight while it runs (the shutdown waits for these). */
async function counted(deps: DispatchDeps, run: () => Promise<Reply>): Promise<Reply> {
  deps.metrics?.commandsInFlight.inc();
  try {
    return await run();
  } finally {
    deps.metrics?.commandsInFlight.dec();
  }
}

/**
 * The metric label of what was run: the registry's names only (`ckpt list`, `button train_resubmit`), never
 * what the user typed, so the label set stays small.
 */
function metricName(registry: Registry, shown: string): string {
  const button = /^\[button ([^\]]+)\]/.exec(shown);
  if (button) return registry.action(button[1] ?? '') ? `button ${button[1]}` : 'unknown';
  const [first = '', second = ''] = shown.trim().split(/\s+/);
  const name = first.replace(/^\//, '');
  if (HELP_WORDS.has(name)) return 'help';
  const command = registry.command(name);
  if (!command) return 'unknown';
  return registry.subcommand(command, second) ? `${command.name} ${second}` : command.name;
}

function commandUsage(c: Command): string {
  return `/${c.name} ${c.usageHint}`;
}

function context(deps: DispatchDeps, inv: Invoker, recorder: InvocationRecorder): CommandContext {
  return {
    user: inv.user,
    ...(inv.channel === undefined ? {} : { channel: inv.channel }),
    source: inv.source,
    services: deps.services,
    config: deps.config,
    audit: recorder,
    log: deps.log,
    now: deps.now ?? (() => new Date()),
  };
}

function refusal(inv: Invoker, what: string): string {
  return inv.source === 'slack'
    ? `${what} is for operators only, and your Slack user id ${inv.user.id} is not in OPERATORS. Ask an admin to add it; reading commands work for everyone.`
    : `${what} is for operators only, and the unix user ${inv.user.name ?? '?'} is not in CLI_OPERATORS. Reading commands work for everyone.`;
}

/** Turn an exception into the reply the user sees, audit it, never rethrow. */
async function finish(
  deps: DispatchDeps,
  inv: Invoker,
  shown: string,
  e: unknown,
  usage?: string,
  recorder = new InvocationRecorder(),
  startedAt = Date.now(),
): Promise<Reply> {
  let reply: Reply;
  let outcome: AuditOutcome = 'error';
  if (e instanceof AuditUnavailable) {
    reply = errorReply(
      `Refused: ${shorten(shown, 80)} would change something, and its audit record could not be written (${e.message}). Nothing was done. Free space on that disk or make AUDIT_LOG writable, then try again; reading commands still work.`,
    );
    outcome = 'refused';
  } else if (e instanceof UserError) {
    reply = errorReply(e.message, e.usage ?? usage);
    outcome = 'invalid';
  } else if (e instanceof ClusterError) {
    const stderr = e.details.stderr ? trimStderr(e.details.stderr, 1500) : '';
    reply = {
      ...errorReply(e.message),
      ...(stderr ? { code: stderr } : {}),
      context: [
        ...(e.details.exitCode != null ? [`exit code ${e.details.exitCode}`] : []),
        ...(e.details.timedOut ? ['timed out'] : []),
      ],
      data: {
        error: e.message,
        exitCode: e.details.exitCode ?? null,
        stderr,
        timedOut: !!e.details.timedOut,
      },
    };
  } else {
    const message = e instanceof Error ? e.message : String(e);
    deps.log.error({ err: e, command: shown }, 'command failed');
    reply = errorReply(`Something went wrong running ${shorten(shown, 80)}: ${message}`);
  }
  await audit(deps, inv, shown, recorder, outcome, startedAt, reply.text);
  return reply;
}

/** The record an operate command writes before it acts: throws AuditUnavailable when it cannot. */
function begin(
  deps: DispatchDeps,
  inv: Invoker,
  shown: string,
  recorder: InvocationRecorder,
  startedAt: number,
): Promise<void> {
  return deps.audit.begin(record(deps, inv, shown, recorder, 'started', startedAt));
}

function audit(
  deps: DispatchDeps,
  inv: Invoker,
  shown: string,
  recorder: InvocationRecorder,
  outcome: AuditOutcome,
  startedAt: number,
  message?: string,
): Promise<void> {
  deps.metrics?.commands.inc({ command: metricName(deps.registry, shown), outcome });
  return deps.audit.write(record(deps, inv, shown, recorder, outcome, startedAt, message));
}

function record(
  deps: DispatchDeps,
  inv: Invoker,
  shown: string,
  recorder: InvocationRecorder,
  outcome: AuditOutcome,
  startedAt: number,
  message?: string,
): AuditRecord {
  return {
    time: (deps.now ?? (() => new Date()))().toISOString(),
    user: inv.user.id,
    ...(inv.user.name === undefined ? {} : { userName: inv.user.name }),
    source: inv.source,
    ...(inv.channel === undefined ? {} : { channel: inv.channel }),
    command: shorten(shown, 500),
    argv: recorder.argvs.map((a) => [...a]),
    outcome,
    ...(message === undefined ? {} : { message: shorten(message, 500) }),
    ...(Object.keys(recorder.notes).length > 0 ? { notes: recorder.notes } : {}),
    durationMs: Date.now() - startedAt,
  };
}
