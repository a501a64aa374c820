import type { BudgetSettings } from './upload-gate.js';

/** Pacing and timing of the upload queue. Production values come from Config; tests shrink them. */
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
  jobLockMs: 60_000,
  stalledIntervalMs: 30_000,
};
