import { UserError } from '../../src/errors.js';
import type * as z from '../../src/zod.js';
import type { ArgSpec, SubcommandSpec } from './command.js';

export type RawArgs = Record<string, string | string[] | true>;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Words → `{ positionalName: word, flagName: value|true }`, refusing anything the spec does not name. */
export function parseArgs(words: readonly string[], spec: ArgSpec, usage: string): RawArgs {
  const out: RawArgs = {};
  const flags = new Map(Object.entries(spec.flags ?? {}).map(([k, t]) => [kebab(k), { key: k, type: t }]));
  const known = () =>
    flags.size === 0
      ? 'it takes no options'
      : `its options are ${[...flags.keys()].map((f) => `--${f}`).join(', ')}`;
  const positionals: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (onlyPositionals || !w.startsWith('-') || w === '-') {
      positionals.push(w);
      continue;
    }
    if (w === '--') {
      onlyPositionals = true;
      continue;
    }
    if (!w.startsWith('--')) {
      throw new UserError(`Unknown option ${shorten(w)}: ${known()}.`, usage);
    }
    const eq = w.indexOf('=');
    const name = w.slice(2, eq === -1 ? undefined : eq);
    const flag = flags.get(name);
    if (!flag) throw new UserError(`Unknown option --${shorten(name)}: ${known()}.`, usage);
    if (flag.key in out) throw new UserError(`Option --${name} is given twice.`, usage);
    if (flag.type === 'boolean') {
      if (eq !== -1) throw new UserError(`Option --${name} is a switch and takes no value.`, usage);
      out[flag.key] = true;
    } else if (eq !== -1) {
      out[flag.key] = w.slice(eq + 1);
    } else {
      const v = words[i + 1];
      if (v === undefined || v.startsWith('--')) {
        throw new UserError(`Option --${name} needs a value: --${name} <value>.`, usage);
      }
      out[flag.key] = v;
      i++;
    }
  }
  const names = spec.positionals ?? [];
  names.forEach((n, idx) => {
    if (n.endsWith('...')) {
      out[n.slice(0, -3)] = positionals.slice(idx);
    } else if (positionals[idx] !== undefined) {
      out[n] = positionals[idx];
    }
  });
  const rest = names.at(-1)?.endsWith('...') ?? false;
  if (!rest && positionals.length > names.length) {
    const extra = positionals[names.length] as string;
    throw new UserError(
      names.length === 0
        ? `This command takes no arguments, but got ${JSON.stringify(shorten(extra))}.`
        : `Too many arguments: ${JSON.stringify(shorten(extra))} is extra.`,
      usage,
    );
  }
  return out;
}

/** Validate raw args with the subcommand's schema; the first problem becomes one clear sentence. */
export function validateArgs<S extends z.ZodMiniType>(
  raw: RawArgs,
  sub: SubcommandSpec,
  schema: S,
): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const shown = key === '' ? '' : flagOrName(key, sub);
    const given = key === '' ? undefined : raw[issue.path[0] as string];
    if (given === undefined && key !== '') return `${shown} is missing`;
    const value = typeof given === 'string' ? ` (got ${JSON.stringify(shorten(given))})` : '';
    return `${shown ? `${shown}: ` : ''}${issue.message}${value}`;
  });
  throw new UserError(`${problems.join('; ')}.`, sub.usage);
}

function flagOrName(key: string, spec: ArgSpec): string {
  const top = key.split('.')[0] as string;
  if (spec.flags && top in spec.flags) return `--${kebab(top)}`;
  return `<${top}>`;
}

/** Echo user input back without letting a 10 kB argument flood the reply. */
export function shorten(s: string, max = 60): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
