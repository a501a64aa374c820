import { editDistance } from '../edit-distance.js';
import type { LogRecord } from './digest-stats.js';
import type { FailureCause } from './pipeline-log.js';

// What the checkpoint tree and the pipeline logs say about an experiment's checkpoints: per-experiment
// counts for `/ckpt list`, each step's upload state as its logs tell it for `/ckpt status`, and the names
// close to a misspelt experiment. Facts in, facts out; the upload queue's view is combined in src/uploads.
// How one log's outcome is read, and where checkpoints live: docs/domain.md.

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

/** One `<experiment>/global_step<N>` directory under the checkpoint root. */
export interface CheckpointRef {
  readonly experiment: string;
  readonly step: number;
}

export interface ExperimentCheckpoints {
  readonly name: string;
  readonly checkpoints: number;
  readonly latestStep: number;
}

/** Checkpoints per experiment with the latest step: most checkpoints first, then by name. */
export function countByExperiment(found: readonly CheckpointRef[]): ExperimentCheckpoints[] {
  const byExp = new Map<string, { checkpoints: number; latestStep: number }>();
  for (const { experiment, step } of found) {
    const e = byExp.get(experiment) ?? { checkpoints: 0, latestStep: 0 };
    e.checkpoints++;
    e.latestStep = Math.max(e.latestStep, step);
    byExp.set(experiment, e);
  }
  return [...byExp.entries()]
    .map(([name, e]) => ({ name, ...e }))
    .sort((a, b) => b.checkpoints - a.checkpoints || a.name.localeCompare(b.name));
}

/** The pipeline-log records of one experiment, by the step each names (records naming no step are left out). */
export function runsByStep(records: readonly LogRecord[], experiment: string): Map<number, LogRecord[]> {
  const byStep = new Map<number, LogRecord[]>();
  for (const r of records) {
    if (r.run.experiment !== experiment || r.run.step === null) continue;
    const list = byStep.get(r.run.step) ?? [];
    list.push(r);
    byStep.set(r.run.step, list);
  }
  return byStep;
}

/** Every repo the runs uploaded to, newest run first, each once. */
export function uploadedRepos(runs: readonly LogRecord[]): string[] {
  return [...new Set(newestFirst(runs).flatMap((r) => r.run.uploadedRepos))];
}

/**
 * One checkpoint's state as its pipeline logs tell it: a success in any run means it reached the Hub;
 * otherwise the newest run decides (no completion line yet: running; a failure: its cause and line).
 * No run at all: none.
 */
export function stateFromLogs(step: number, bytes: number, runs: readonly LogRecord[]): CheckpointStatus {
  const base = { step, bytes, cause: null, line: null, slurmJobId: null, detail: null };
  const newest = newestFirst(runs);
  const repos = uploadedRepos(runs);
  const ok = newest.find((r) => r.run.outcome === 'succeeded');
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

function newestFirst(runs: readonly LogRecord[]): LogRecord[] {
  return [...runs].sort((a, b) => b.mtimeMs - a.mtimeMs);
}
