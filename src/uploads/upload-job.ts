import * as z from '../zod.js';

// What one queued checkpoint upload carries. Parsed with zod whenever it is read back from Redis.

export const UPLOAD_QUEUE = 'ckpt-upload';

/** One finished pipeline run of this job (a job may run the pipeline several times: 429 → retry). */
export const UploadRun = z.object({
  slurmJobId: z.string(),
  submittedAt: z.number(),
  outcome: z.enum(['succeeded', 'failed', 'lost']),
  cause: z.nullable(z.enum(['rate_limited', 'timeout', 'other'])),
  line: z.nullable(z.string()),
  repos: z.array(z.string()),
});
export type UploadRun = z.infer<typeof UploadRun>;

export const UploadJobData = z.object({
  experiment: z.string(),
  step: z.number().check(z.int(), z.nonnegative()),
  org: z.string(),
  skipNeoxUpload: z.boolean(),
  uploadNeoxOnly: z.boolean(),
  eval: z.boolean(),
  singleton: z.boolean(),
  maxRetries: z.number().check(z.int(), z.nonnegative()),
  retryMinWaitS: z.number().check(z.positive()),
  retryMaxWaitS: z.number().check(z.positive()),
  /** The Slack thread / batch this upload reports progress to. */
  batchId: z.string(),
  requestedBy: z.string(),
  /** Set BEFORE anything else after submitting; a resumed job finds it and waits instead of submitting. */
  slurmJobId: z._default(z.nullable(z.string()), null),
  submittedAt: z._default(z.nullable(z.number()), null),
  /** The comment of a run being submitted right now: after a crash, look for it in squeue before resubmitting. */
  submitting: z._default(z.nullable(z.string()), null),
  /** When that submission started (ms, bot clock): a run that already ended is found by its log after this. */
  submittingAt: z._default(z.nullable(z.number()), null),
  /** Pipeline runs that failed and were retried. */
  retries: z._default(z.number().check(z.int(), z.nonnegative()), 0),
  runs: z._default(z.array(UploadRun), []),
  /** Why the job is waiting right now (shown by /ckpt queue and /ckpt status). */
  waitingFor: z._default(z.nullable(z.string()), null),
});
export type UploadJobData = z.infer<typeof UploadJobData>;
export type UploadJobInput = z.input<typeof UploadJobData>;

export interface UploadResult {
  readonly slurmJobId: string;
  readonly repos: readonly string[];
  readonly retries: number;
}

/**
 * `<experiment>@<step>`. BullMQ 5.81 refuses custom ids with one ':' ("Custom Id cannot contain :") and
 * experiment names never contain '@', so the id stays unambiguous.
 */
export function uploadJobId(experiment: string, step: number): string {
  return `${experiment}@${step}`;
}

export function parseUploadJobId(id: string): { experiment: string; step: number } | null {
  const m = /^(.+)@(\d+)$/.exec(id);
  return m ? { experiment: m[1] as string, step: Number(m[2]) } : null;
}

/** Commits one pipeline run makes: the HF-format model and/or the raw NeoX checkpoint. */
export function commitsPerRun(d: Pick<UploadJobData, 'skipNeoxUpload' | 'uploadNeoxOnly'>): number {
  if (d.uploadNeoxOnly) return 1;
  return d.skipNeoxUpload ? 1 : 2;
}

/**
 * How long to wait after a failed run: the Hub's own reset when it told us (`RateLimit … t=`, `Retry-After`;
 * it knows best, so only capped by retry-max-wait), otherwise exponential from retry-min-wait clamped to
 * [retry-min-wait, retry-max-wait].
 */
export function retryDelayMs(
  retryIndex: number,
  minWaitS: number,
  maxWaitS: number,
  hubResetS?: number | null,
): number {
  if (hubResetS != null && hubResetS > 0) return Math.round(Math.min(maxWaitS, hubResetS) * 1000);
  const exp = minWaitS * 2 ** Math.max(0, retryIndex);
  return Math.round(Math.min(maxWaitS, Math.max(minWaitS, exp)) * 1000);
}
