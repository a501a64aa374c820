import type { JobId } from '../args.js';
import { ClusterError } from '../errors.js';
import { parseSacct, SACCT_DELIMITER, SACCT_FORMAT } from './sacct-parse.js';
import { slurmCommandFailed } from './slurm-errors.js';
import type { JobInfo } from './slurm-job.js';
import type { RunResult } from './transport.js';

/**
 * One sacct call for the given (validated) job ids: their records, or null when this cluster keeps no
 * accounting (sacct disabled, absent, or without its database). Any other failure throws.
 */
export async function sacctJobs(
  run: (argv: string[]) => Promise<RunResult>,
  ids: readonly JobId[],
): Promise<Map<JobId, JobInfo> | null> {
  const argv = [
    'sacct',
    '--noheader',
    '--parsable2',
    `--delimiter=${SACCT_DELIMITER}`,
    '--allocations',
    `--jobs=${ids.join(',')}`,
    `--format=${SACCT_FORMAT}`,
  ];
  let r: RunResult;
  try {
    r = await run(argv);
  } catch (e) {
    // Local transport: sacct not installed at all. Same meaning as "accounting disabled".
    if (e instanceof ClusterError && !e.details.timedOut) return null;
    throw e;
  }
  if (r.exitCode !== 0) {
    // "Slurm accounting storage is disabled", "command not found" (127), no slurmdbd: no accounting here.
    if (
      r.exitCode === 127 ||
      /accounting storage is disabled|not found|slurmdbd|Problem talking to the database/i.test(r.stderr)
    ) {
      return null;
    }
    throw slurmCommandFailed(argv, r);
  }
  const out = new Map<JobId, JobInfo>();
  for (const j of parseSacct(r.stdout).jobs) out.set(j.id as JobId, j);
  return out;
}
