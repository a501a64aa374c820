// What an upload job tells the people who asked for it. Implemented by batch-progress.ts (one Slack
// message per batch, edited in place); tests and the bench may pass their own.

export type UploadEvent =
  | { readonly kind: 'waiting'; readonly why: string; readonly until: number }
  | { readonly kind: 'submitted'; readonly slurmJobId: string }
  | { readonly kind: 'running'; readonly slurmJobId: string }
  | { readonly kind: 'succeeded'; readonly slurmJobId: string; readonly repos: readonly string[] }
  | {
      readonly kind: 'retrying';
      readonly cause: string;
      readonly line: string | null;
      readonly retryAt: number;
      readonly retry: number;
    }
  | { readonly kind: 'failed'; readonly reason: string };

export interface UploadProgress {
  report(batchId: string, jobId: string, event: UploadEvent): Promise<void>;
}

export const silentProgress: UploadProgress = { report: async () => {} };
