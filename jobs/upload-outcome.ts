import type { PipelineRun } from '../src/pipeline/pipeline-log.js';
import { retryDelayMs, type UploadJobData, type UploadRun } from '../src/uploads/upload-job.js';

// What an upload does once its pipeline run has ended, decided from the run's log alone: done, retry
// later, or give up. Pure, so every branch is testable without Slurm.

/** The record kept in the job's data for one finished run. */
export function runRecord(
  slurmJobId: string,
  submittedAt: number,
  logPath: string,
  lines: readonly string[] | null,
  run: PipelineRun | null,
  lastState: string | null,
): UploadRun {
  return {
    slurmJobId,
    submittedAt,
    outcome: run?.outcome === 'succeeded' ? 'succeeded' : run?.outcome === 'failed' ? 'failed' : 'lost',
    cause: run?.failureCause ?? (run?.outcome === 'succeeded' ? null : 'other'),
    line:
      run?.tellingLine ??
      (lines === null
        ? `no log at ${logPath}`
        : `the run ended (${lastState ?? 'left the queue'}) without a "Pipeline completed" line`),
    repos: [...(run?.uploadedRepos ?? [])],
  };
}

export type RunDecision =
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'failed'; readonly reason: string; readonly pauseUntil: number | null }
  | { readonly kind: 'retry'; readonly retryAt: number; readonly pauseUntil: number | null };

/**
 * A 429 means the Hub wants everyone to stop, not just this run: the decision then carries a pause of every
 * start until the retry time (the Hub's reset when the log names one, else the clamped backoff). A failure
 * of cause "other" is not retried; a lost run, a timeout or a 429 is, up to maxRetries.
 */
export function decideAfterRun(
  d: Pick<UploadJobData, 'retries' | 'maxRetries' | 'retryMinWaitS' | 'retryMaxWaitS'>,
  record: UploadRun,
  run: PipelineRun | null,
  now: number,
): RunDecision {
  if (record.outcome === 'succeeded') return { kind: 'succeeded' };
  const hint = run?.rateLimit;
  const hubResetS = record.cause === 'rate_limited' ? (hint?.resetSeconds ?? hint?.retryAfterSeconds) : null;
  const retryAt = now + retryDelayMs(d.retries, d.retryMinWaitS, d.retryMaxWaitS, hubResetS);
  const pauseUntil = record.cause === 'rate_limited' ? retryAt : null;
  const retriable = record.cause !== 'other' || record.outcome === 'lost';
  if (!retriable || d.retries >= d.maxRetries) {
    const reason = retriable
      ? `gave up after ${d.retries} retries: ${runLabel(record)}: ${record.line}`
      : `pipeline failed (${runLabel(record)}): ${record.line}`;
    return { kind: 'failed', reason, pauseUntil };
  }
  return { kind: 'retry', retryAt, pauseUntil };
}

export function runLabel(r: UploadRun): string {
  if (r.outcome === 'lost') return 'run lost';
  return r.cause === 'rate_limited' ? 'rate limited' : r.cause === 'timeout' ? 'timeout' : 'other';
}
