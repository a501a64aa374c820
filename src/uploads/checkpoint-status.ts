import type { Transport } from '../cluster/transport.js';
import { editDistance } from '../edit-distance.js';
import { ClusterError, trimStderr } from '../errors.js';
import type { LogRecord } from '../pipeline/digest-stats.js';
import type { FailureCause } from '../pipeline/pipeline-log.js';
import type { UploadJobView, UploadQueueService } from './upload-queue-service.js';

// `/ckpt status <experiment>`: every global_step<N> with its size and upload state, from a constant number
// of cluster round trips whatever the number of checkpoints: one command lists the checkpoints with their
// sizes, one sweep (H-F's incremental log scanner) reads the pipeline logs. The queue is read from Redis.

export type UploadState = 'uploaded' | 'failed' | 'running' | 'queued' | 'none';

export interface CheckpointStatus {
  readonly step: number;
  readonly bytes: number;
  readonly state: UploadState;
  /** Where it went (from the log's "Successfully uploaded … to <repo>"). */
  readonly repos: readonly string[];
  /** For failed: why, and the log line (or the queue's reason) that says so. */
  readonly cause: FailureCause | null;
  readonly line: string | null;
  readonly slurmJobId: string | null;
  /** For queued/running: what it is waiting for, when known. */
  readonly detail: string | null;
}

export type StatusResult =
  | {
      readonly kind: 'ok';
      readonly experiment: string;
      readonly dir: string;
      readonly checkpoints: readonly CheckpointStatus[];
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'missing-experiment'; readonly base: string; readonly near: readonly string[] }
  | { readonly kind: 'missing-base'; readonly base: string };

/** Something that sweeps the pipeline logs in one remote command (H-F's DigestSource / LogScanner). */
export interface PipelineLogSource {
  sweep(): Promise<{ readonly records: readonly LogRecord[] }>;
}

export interface StatusDeps {
  readonly transport: Transport;
  readonly checkpointsBaseDir: string;
  readonly logs?: PipelineLogSource;
  readonly uploads?: UploadQueueService;
}

// `du` over the glob in ONE process; the experiment name is validated ([A-Za-z0-9._+-], no glob characters)
// and passed as a positional parameter, never spliced into the script.
const LIST_SCRIPT =
  'b=$1; e=$2; if [ -d "$b/$e" ]; then echo @@ok@@; du -s --block-size=1 -- "$b/$e"/global_step* 2>/dev/null; exit 0; fi; ' +
  'if [ -d "$b" ]; then echo @@noexp@@; ls -1 -- "$b"; exit 0; fi; echo @@nobase@@';

export type Listing =
  | { readonly kind: 'ok'; readonly checkpoints: readonly { step: number; bytes: number }[] }
  | { readonly kind: 'missing-experiment'; readonly names: readonly string[] }
  | { readonly kind: 'missing-base' };

export async function listCheckpoints(
  transport: Transport,
  base: string,
  experiment: string,
): Promise<Listing> {
  const argv = ['sh', '-c', LIST_SCRIPT, 'ckpt-status', base.replace(/\/+$/, '') || '/', experiment];
  const r = await transport.run(argv, { timeoutMs: 120_000, maxOutputBytes: 8 << 20 });
  return parseListing(r.stdout, r.exitCode, r.stderr);
}

export function parseListing(stdout: string, exitCode = 0, stderr = ''): Listing {
  const lines = stdout.split('\n').filter((l) => l !== '');
  const head = lines[0];
  if (head === '@@nobase@@') return { kind: 'missing-base' };
  if (head === '@@noexp@@') return { kind: 'missing-experiment', names: lines.slice(1) };
  if (head !== '@@ok@@') {
    throw new ClusterError(`listing checkpoints failed (exit ${exitCode}): ${trimStderr(stderr, 300)}`, {
      exitCode,
      stderr: trimStderr(stderr),
    });
  }
  const checkpoints: { step: number; bytes: number }[] = [];
  for (const line of lines.slice(1)) {
    const m = /^(\d+)\s+.*\/global_step(\d+)$/.exec(line);
    if (m) checkpoints.push({ bytes: Number(m[1]), step: Number(m[2]) });
  }
  return { kind: 'ok', checkpoints: checkpoints.sort((a, b) => a.step - b.step) };
}

export async function checkpointStatus(deps: StatusDeps, experiment: string): Promise<StatusResult> {
  const base = deps.checkpointsBaseDir.replace(/\/+$/, '') || '/';
  const warnings: string[] = [];
  const [listing, records] = await Promise.all([
    listCheckpoints(deps.transport, base, experiment),
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
  if (listing.kind === 'missing-experiment') {
    return { kind: 'missing-experiment', base, near: nearNames(experiment, listing.names) };
  }
  if (!deps.logs) warnings.push('pipeline logs are not configured: upload states come from the queue only');
  const steps = listing.checkpoints.map((c) => c.step);
  const jobs = deps.uploads
    ? await deps.uploads.jobsFor(experiment, steps)
    : new Map<number, UploadJobView>();
  const runsByStep = new Map<number, LogRecord[]>();
  for (const r of records) {
    if (r.run.experiment !== experiment || r.run.step === null) continue;
    const list = runsByStep.get(r.run.step) ?? [];
    list.push(r);
    runsByStep.set(r.run.step, list);
  }
  const checkpoints = listing.checkpoints.map((c) =>
    mergeState(c.step, c.bytes, runsByStep.get(c.step) ?? [], jobs.get(c.step) ?? null),
  );
  return { kind: 'ok', experiment, dir: `${base}/${experiment}`, checkpoints, warnings };
}

/**
 * One checkpoint's state. The queue knows what is about to happen (queued, running); the logs know what
 * happened. A success anywhere means the checkpoint reached the Hub; otherwise the newest run decides.
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
    repos: [] as string[],
    cause: null,
    line: null,
    slurmJobId: null,
    detail: null,
  };
  const newest = [...runs].sort((a, b) => b.mtimeMs - a.mtimeMs);
  const ok = newest.find((r) => r.run.outcome === 'succeeded');
  const repos = [...new Set(newest.flatMap((r) => r.run.uploadedRepos))];
  if (job && job.state === 'active') {
    return { ...base, repos, state: 'running', slurmJobId: job.data.slurmJobId, detail: job.data.waitingFor };
  }
  if (job && ['waiting', 'prioritized', 'delayed', 'waiting-children'].includes(job.state)) {
    const due = job.due ? `due ${new Date(job.due).toISOString()}` : null;
    return {
      ...base,
      repos,
      state: 'queued',
      detail: [job.data.waitingFor, due].filter(Boolean).join('; ') || null,
    };
  }
  if (ok) return { ...base, state: 'uploaded', repos, slurmJobId: ok.run.jobId };
  const latest = newest[0];
  if (latest && latest.run.outcome === 'running') {
    return {
      ...base,
      repos,
      state: 'running',
      slurmJobId: latest.run.jobId,
      detail: 'log has no completion line yet',
    };
  }
  if (latest && latest.run.outcome === 'failed') {
    return {
      ...base,
      repos,
      state: 'failed',
      cause: latest.run.failureCause,
      line: latest.run.tellingLine,
      slurmJobId: latest.run.jobId,
    };
  }
  if (job && job.state === 'failed') {
    const last = job.data.runs.at(-1);
    return {
      ...base,
      repos,
      state: 'failed',
      cause: last?.cause ?? 'other',
      line: job.failedReason ?? last?.line ?? null,
      slurmJobId: last?.slurmJobId ?? null,
    };
  }
  if (job && job.state === 'completed') {
    return {
      ...base,
      state: 'uploaded',
      repos: [...(job.result?.repos ?? [])],
      slurmJobId: job.result?.slurmJobId ?? null,
    };
  }
  return { ...base, repos, state: 'none' };
}

/** Directory names close to what the user typed: substring matches first, then small edit distance. */
export function nearNames(wanted: string, names: readonly string[], max = 5): string[] {
  const w = wanted.toLowerCase();
  const scored = names
    .filter((n) => n !== '' && !n.startsWith('.'))
    .map((n) => {
      const l = n.toLowerCase();
      const sub = l.includes(w) || w.includes(l) ? 0 : 1;
      return { n, sub, d: editDistance(w, l) };
    })
    .filter((s) => s.sub === 0 || s.d <= Math.max(3, Math.floor(w.length / 3)))
    .sort((a, b) => a.sub - b.sub || a.d - b.d || a.n.localeCompare(b.n));
  return scored.slice(0, max).map((s) => s.n);
}
