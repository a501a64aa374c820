import type { JobId } from '../args.js';
import { ClusterError, trimStderr } from '../errors.js';
import { buildSbatchArgv, parseSbatchParsable, SubmitOptions } from './sbatch-options.js';
import { slurmCommandFailed, zodToUserError } from './slurm-errors.js';
import type { RunResult } from './transport.js';

export interface SubmitResult {
  readonly jobId: JobId;
  readonly cluster: string | null;
  /** The argv that ran (for the audit log). */
  readonly argv: readonly string[];
}

/** sbatch with validated options; returns the job id sbatch printed (`--parsable`). */
export async function submitBatch(
  run: (argv: string[]) => Promise<RunResult>,
  opts: SubmitOptions,
): Promise<SubmitResult> {
  const parsed = SubmitOptions.safeParse(opts);
  if (!parsed.success) throw zodToUserError(parsed.error, 'sbatch options');
  const argv = buildSbatchArgv(parsed.data);
  const r = await run(argv);
  if (r.exitCode !== 0) throw slurmCommandFailed(argv, r);
  const out = parseSbatchParsable(r.stdout);
  if (!out) {
    throw new ClusterError(`sbatch printed no job id: ${JSON.stringify(r.stdout.slice(0, 200))}`, {
      argv,
      exitCode: r.exitCode,
      stderr: trimStderr(r.stderr),
    });
  }
  return { ...out, argv };
}
