import type { InvocationAudit } from '../../src/audit.js';
import type { Config } from '../../src/config.js';
import type { Logger } from '../../src/logger.js';
import type { Reply } from '../../src/reply.js';
import type * as z from '../../src/zod.js';
import type { Services } from './services.js';

// The contract every slash command implements. A command knows nothing of Slack or terminals: it gets
// validated arguments and a context, calls services, and returns a Reply. See commands/README.md.

export type Permission = 'read' | 'operate';

/** How the words after `/train <sub>` map onto the object the zod schema validates. */
export interface ArgSpec {
  /**
   * Positional argument names, in order. A name ending in `...` (only the last) collects all remaining
   * words as a string array under the name without the dots.
   */
  readonly positionals?: readonly string[];
  /**
   * Flags, keyed by the property name the schema sees (camelCase). On the command line they are written in
   * kebab-case: `skipEval: 'boolean'` is `--skip-eval`; `org: 'string'` is `--org x` or `--org=x`.
   */
  readonly flags?: Readonly<Record<string, 'boolean' | 'string'>>;
}

/** What help, the registry and the dispatcher know of a subcommand before it runs: no schema, no code. */
export interface SubcommandSpec extends ArgSpec {
  readonly name: string;
  /** One line for lists (`/train help`). */
  readonly summary: string;
  /** The usage line shown with every error, without the leading slash: `train list [user]`. */
  readonly usage: string;
  /** Longer help: what it does, examples. */
  readonly help: string;
  readonly permission: Permission;
  /** Where it may run; default both. Offline helpers that read local files are `['cli']`. */
  readonly surfaces?: readonly ('slack' | 'cli')[];
}

/** What runs: the schema of its arguments and the code. */
export interface SubcommandImpl<S extends z.ZodMiniType = z.ZodMiniType> {
  /** Validates `{ <positional>: string, <flag>: string|true }` and turns it into what `run` gets. */
  readonly args: S;
  // Method syntax on purpose: it keeps SubcommandImpl<Specific> assignable to SubcommandImpl in the registry.
  run(args: z.output<S>, ctx: CommandContext): Promise<Reply>;
}

export interface Subcommand extends SubcommandSpec {
  /**
   * The implementation, loaded when the subcommand is about to run (a dynamic import): help, unknown
   * names and refusals never load a schema or the services' code.
   */
  load(): Promise<SubcommandImpl>;
}

export interface Command {
  /** The slash command without the slash: `train` for `/train`. */
  readonly name: string;
  readonly summary: string;
  /** Shown in manifest.yml as the slash command's usage hint. */
  readonly usageHint: string;
  readonly subcommands: readonly Subcommand[];
  /** Subcommand run when the first word is missing or an option (`chatops digest --since …`). */
  readonly defaultSubcommand?: string;
  /** Button handlers for this command's replies (`Reply.buttons[].actionId` must name one of these). */
  readonly actions?: readonly ActionHandler[];
}

/** What a button click runs. The value comes back from Slack, so it is validated again like user input. */
export interface ActionHandler {
  /** Matches `ReplyButton.actionId`, e.g. `train.cancel.confirm`. Prefix it with the command name. */
  readonly id: string;
  readonly permission: Permission;
  /** The implementation, loaded on the first click (as Subcommand.load). */
  load(): Promise<ActionImpl>;
}

export interface ActionImpl<S extends z.ZodMiniType = z.ZodMiniType> {
  /** Validates the button's `value` string. */
  readonly value: S;
  run(value: z.output<S>, ctx: CommandContext): Promise<Reply>;
}

export type { InvocationAudit } from '../../src/audit.js';
export type { Logger } from '../../src/logger.js';

export interface CommandUser {
  /** Slack user id (`U0123ABCD`) or `unix:<name>` for the CLI. Permissions go by id, never by name. */
  readonly id: string;
  readonly name?: string;
}

export interface CommandContext {
  readonly user: CommandUser;
  /** Slack channel id; absent on the CLI. */
  readonly channel?: string;
  readonly source: 'slack' | 'cli';
  readonly services: Services;
  readonly config: Config;
  readonly audit: InvocationAudit;
  readonly log: Logger;
  now(): Date;
}

/**
 * A subcommand: its spec and `load`, which imports the module holding its implementation
 * (`load: async () => (await import('./list.js')).trainList`). With `args` and `run` given inline instead
 * (tests, probes), they are its implementation as they are.
 */
export function defineSubcommand(def: SubcommandSpec & { load(): Promise<SubcommandImpl> }): Subcommand;
export function defineSubcommand<S extends z.ZodMiniType>(
  def: SubcommandSpec & SubcommandImpl<S>,
): Subcommand;
export function defineSubcommand(
  def: SubcommandSpec & ({ load(): Promise<SubcommandImpl> } | SubcommandImpl),
): Subcommand {
  if ('load' in def) return def;
  const { args, run, ...spec } = def;
  const impl: SubcommandImpl = { args, run };
  return { ...spec, load: async () => impl };
}

/** Identity function that keeps the schema's type for `run`'s args. Every subcommand's module exports one. */
export function implementSubcommand<S extends z.ZodMiniType>(def: SubcommandImpl<S>): SubcommandImpl<S> {
  return def;
}

/** A button handler: its id, permission and `load`; or, inline, `value` and `run` (as defineSubcommand). */
export function defineAction(def: ActionHandler): ActionHandler;
export function defineAction<S extends z.ZodMiniType>(
  def: Pick<ActionHandler, 'id' | 'permission'> & ActionImpl<S>,
): ActionHandler;
export function defineAction(
  def: ActionHandler | (Pick<ActionHandler, 'id' | 'permission'> & ActionImpl),
): ActionHandler {
  if ('load' in def) return def;
  const { value, run, ...spec } = def;
  const impl: ActionImpl = { value, run };
  return { ...spec, load: async () => impl };
}

export function implementAction<S extends z.ZodMiniType>(def: ActionImpl<S>): ActionImpl<S> {
  return def;
}

export function defineCommand(def: Command): Command {
  const names = new Set<string>();
  for (const s of def.subcommands) {
    if (names.has(s.name)) throw new Error(`/${def.name}: subcommand ${s.name} defined twice`);
    if (s.name === 'help') throw new Error(`/${def.name}: "help" is built in`);
    names.add(s.name);
  }
  for (const a of def.actions ?? []) {
    if (!a.id.startsWith(`${def.name}.`))
      throw new Error(`/${def.name}: action id ${a.id} must start with "${def.name}."`);
  }
  if (def.defaultSubcommand && !names.has(def.defaultSubcommand)) {
    throw new Error(`/${def.name}: default subcommand ${def.defaultSubcommand} is not defined`);
  }
  return def;
}
