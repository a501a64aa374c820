import { type CheckpointFiles, checkpointRoot } from '../cluster/checkpoint-files.js';
import {
  type CheckpointStatus,
  nearNames,
  runsByStep,
  stateFromLogs,
  uploadedRepos,
} from '../pipeline/checkpoint-inventory.js';
import type { LogRecord } from '../pipeline/digest-stats.js';
import type { UploadJobView, UploadQueueService } from './upload-queue-service.js';

export type { CheckpointStatus, UploadState } from '../pipeline/checkpoint-inventory.js';

// `/ckpt status <experiment>`: every global_step<N> with its size and upload state, from a constant number
// of cluster round trips whatever the number of checkpoints: one command lists the checkpoints with their
// sizes, one sweep of the incremental log scanner reads the pipeline logs. The queue is read from Redis.

export type StatusResult =
  | {
      readonly kind: 'ok';
      readonly experiment: string;
      readonly dir: string;
      readonly checkpoints: readonly CheckpointStatus[];
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'missing-experiment'; readonly base: string; readonly near: readonly string[] }
  | { readonly kind: 'missing-base'; readonly base: string }
  | { readonly kind: 'outside-root'; readonly base: string; readonly target: string };

/** Something that sweeps the pipeline logs in one remote command (the digest's log source). */
export interface PipelineLogSource {
  sweep(): Promise<{ readonly records: readonly LogRecord[] }>;
}

export interface StatusDeps {
  readonly checkpoints: CheckpointFiles;
  readonly checkpointsBaseDir: string;
  readonly logs?: PipelineLogSource;
  readonly uploads?: UploadQueueService;
}

export async function checkpointStatus(deps: StatusDeps, experiment: string): Promise<StatusResult> {
  const base = checkpointRoot(deps.checkpointsBaseDir);
  const warnings: string[] = [];
  const [listing, records] = await Promise.all([
    deps.checkpoints.sizes(base, experiment),
    deps.logs
      ? deps.logs.sweep().then(
          (s) => s.records,
          (e: unknown) => {
            warnings.push(`pipeline logs could not be read: ${e instanceof Error ? e.message : String(e)}`);
            return [] as LogRecord[];
          },
        )
      : Promise.resolve([] as LogRecord[]),
  ]);
  if (listing.kind === 'missing-base') return { kind: 'missing-base', base };
  if (listing.kind === 'outside-root') return { kind: 'outside-root', base, target: listing.target };
  if (listing.kind === 'missing-experiment') {
    return { kind: 'missing-experiment', base, near: nearNames(experiment, listing.names) };
  }
  if (!deps.logs) warnings.push('pipeline logs are not configured: upload states come from the queue only');
  const steps = listing.checkpoints.map((c) => c.step);
  const jobs = deps.uploads
    ? await deps.uploads.jobsFor(experiment, steps)
    : new Map<number, UploadJobView>();
  const runs = runsByStep(records, experiment);
  const checkpoints = listing.checkpoints.map((c) =>
    mergeState(c.step, c.bytes, runs.get(c.step) ?? [], jobs.get(c.step) ?? null),
  );
  return { kind: 'ok', experiment, dir: `${base}/${experiment}`, checkpoints, warnings };
}

/**
 * One checkpoint's state. The queue knows what is about to happen (queued, running); the logs know what
 * happened (stateFromLogs); the queue's own record of a finished job speaks only where the logs are silent.
 */
export function mergeState(
  step: number,
  bytes: number,
  runs: readonly LogRecord[],
  job: UploadJobView | null,
): CheckpointStatus {
  const base = {
    step,
    bytes,
    repos: uploadedRepos(runs),
    cause: null,
    line: null,
    slurmJobId: null,
    detail: null,
  };
  if (job && job.state === 'active') {
    return { ...base, state: 'running', slurmJobId: job.data.slurmJobId, detail: job.data.waitingFor };
  }
  if (job && ['waiting', 'prioritized', 'delayed', 'waiting-children'].includes(job.state)) {
    const due = job.due ? `due ${new Date(job.due).toISOString()}` : null;
    return {
      ...base,
      state: 'queued',
      detail: [job.data.waitingFor, due].filter(Boolean).join('; ') || null,
    };
  }
  const fromLogs = stateFromLogs(step, bytes, runs);
  if (fromLogs.state !== 'none' || !job) return fromLogs;
  if (job.state === 'failed') {
    const last = job.data.runs.at(-1);
    return {
      ...base,
      state: 'failed',
      cause: last?.cause ?? 'other',
      line: job.failedReason ?? last?.line ?? null,
      slurmJobId: last?.slurmJobId ?? null,
    };
  }
  if (job.state === 'completed') {
    return {
      ...base,
      state: 'uploaded',
      repos: [...(job.result?.repos ?? [])],
      slurmJobId: job.result?.slurmJobId ?? null,
    };
  }
  return fromLogs;
}
