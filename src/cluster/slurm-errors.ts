import { ClusterError, trimStderr, UserError } from '../errors.js';
import type * as z from '../zod.js';
import type { RunResult } from './transport.js';

/** Validate one value with an args.ts schema; a failure is the user's to fix, so it is a UserError. */
export function validateArg<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const shown =
    typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : '';
  const why = r.error.issues.map((i) => i.message).join('; ');
  throw new UserError(`invalid ${what}${shown ? ` ${shown}` : ''}: ${why}`);
}

/** Every issue of a failed schema, with its path, as one UserError. */
export function zodToUserError(e: z.core.$ZodError, what: string): UserError {
  const why = e.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
  return new UserError(`invalid ${what}: ${why}`);
}

/** A Slurm command that exited non-zero: its name, exit code and first stderr line. */
export function slurmCommandFailed(argv: readonly string[], r: RunResult): ClusterError {
  const err = trimStderr(r.stderr);
  const first = err.split('\n')[0] ?? '';
  return new ClusterError(`${argv[0]} failed (exit ${r.exitCode})${first ? `: ${first}` : ''}`, {
    argv,
    exitCode: r.exitCode,
    stderr: err,
  });
}
