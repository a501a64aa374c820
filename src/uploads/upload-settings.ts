import type { BudgetSettings } from './upload-gate.js';

/** Pacing and timing of the upload queue. Production values come from Config (uploadSettingsFrom); tests shrink them. */
export interface UploadQueueSettings {
  /** Pipeline runs at once across all workers (BullMQ global concurrency). */
  readonly concurrency: number;
  readonly budget: BudgetSettings;
  /** squeue poll interval (one squeue for all running uploads). */
  readonly pollMs: number;
  readonly lockTtlMs: number;
  readonly lockRenewMs: number;
  readonly lockRecheckMs: number;
  readonly jitterMs: number;
  /** BullMQ job lock: how soon a dead worker's job is noticed and resumed. */
  readonly jobLockMs: number;
  readonly stalledIntervalMs: number;
}

export const DEFAULT_UPLOAD_SETTINGS: UploadQueueSettings = {
  concurrency: 4,
  // The Hub's API limit is per 5-minute fixed window; commits are further limited (~128/hour per repo).
  budget: { limit: 100, windowMs: 300_000, marginMs: 15_000 },
  pollMs: 30_000,
  lockTtlMs: 10 * 60_000,
  lockRenewMs: 60_000,
  lockRecheckMs: 5 * 60_000,
  jitterMs: 2_000,
  jobLockMs: 15_000,
  stalledIntervalMs: 5_000,
};

/** The settings an operator sets (src/config.ts UPLOAD_*), the rest at their defaults. */
export interface UploadEnvSettings {
  readonly UPLOAD_CONCURRENCY: number;
  readonly UPLOAD_COMMIT_LIMIT: number;
  readonly UPLOAD_COMMIT_WINDOW_S: number;
  readonly UPLOAD_COMMIT_MARGIN_S: number;
  readonly UPLOAD_POLL_S: number;
  readonly UPLOAD_LOCK_TTL_S: number;
  readonly UPLOAD_LOCK_RENEW_S: number;
  readonly UPLOAD_LOCK_RECHECK_S: number;
  readonly UPLOAD_JOB_LOCK_S: number;
  readonly UPLOAD_STALLED_CHECK_S: number;
}

export function uploadSettingsFrom(c: UploadEnvSettings): UploadQueueSettings {
  const ms = (s: number) => Math.round(s * 1000);
  const pollMs = ms(c.UPLOAD_POLL_S);
  return {
    ...DEFAULT_UPLOAD_SETTINGS,
    concurrency: c.UPLOAD_CONCURRENCY,
    budget: {
      limit: c.UPLOAD_COMMIT_LIMIT,
      windowMs: ms(c.UPLOAD_COMMIT_WINDOW_S),
      marginMs: ms(c.UPLOAD_COMMIT_MARGIN_S),
    },
    pollMs,
    lockTtlMs: ms(c.UPLOAD_LOCK_TTL_S),
    lockRenewMs: ms(c.UPLOAD_LOCK_RENEW_S),
    lockRecheckMs: ms(c.UPLOAD_LOCK_RECHECK_S),
    jobLockMs: ms(c.UPLOAD_JOB_LOCK_S),
    stalledIntervalMs: ms(c.UPLOAD_STALLED_CHECK_S),
    // Jitter stays well under the poll, so a quick poll is not swamped by it.
    jitterMs: Math.min(DEFAULT_UPLOAD_SETTINGS.jitterMs, Math.floor(pollMs / 4)),
  };
}
