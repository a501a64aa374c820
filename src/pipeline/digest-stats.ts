import { FAILURE_CAUSES, type FailureCause, type PipelineRun } from './pipeline-log.js';

/** One pipeline log as the scanner remembers it: file facts plus what its lines said. */
export interface LogRecord {
  readonly name: string;
  readonly size: number;
  /** Modification time in ms since the epoch: decides which period the run belongs to (docs/domain.md#checkpoint-pipeline). */
  readonly mtimeMs: number;
  readonly run: PipelineRun;
}

export interface Period {
  readonly since: Date;
  readonly until: Date;
}

/** The exact `chatops digest --json` shape (docs/json-contracts.md). Nothing may be added to it. */
export interface DigestJson {
  readonly experiments: Record<string, ExperimentCounts>;
  readonly uploadedRepos: string[];
}

export interface ExperimentCounts {
  completed: number;
  succeeded: number;
  failed: number;
  running: number;
  /** succeeded / completed; 0 when nothing completed (the contract types it as a number, never null). */
  successRate: number;
  failures: Record<FailureCause, number>;
}

export interface FailureDetail {
  readonly experiment: string;
  readonly jobId: string | null;
  readonly step: number | null;
  readonly cause: FailureCause;
  readonly line: string | null;
}

export interface Digest {
  readonly period: Period;
  readonly json: DigestJson;
  readonly failures: readonly FailureDetail[];
  /** Totals over all experiments. */
  readonly totals: {
    completed: number;
    succeeded: number;
    failed: number;
    running: number;
    successRate: number;
  };
}

export interface DigestComparison {
  readonly current: Digest;
  readonly previous: Digest;
  /** Percentage points, current minus previous total success rate; null when either period completed nothing. */
  readonly successRateChange: number | null;
  readonly completedChange: number;
  /** Per experiment, percentage points; only experiments that completed something in both periods. */
  readonly experimentRateChange: Record<string, number>;
}

// One collator for the whole sort: localeCompare with options builds a new one per call (10,000 logs
// made that the slowest part of a digest).
const JOB_ORDER = new Intl.Collator('en', { numeric: true });
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Logs without an "Experiment:" line still count, under this name. */
export const UNKNOWN_EXPERIMENT = '(unknown)';

/** Half-open: since ≤ mtime < until, so back-to-back periods never count a run twice. */
export function inPeriod(mtimeMs: number, p: Period): boolean {
  return mtimeMs >= p.since.getTime() && mtimeMs < p.until.getTime();
}

/** The period of the same length just before `p`. */
export function previousPeriod(p: Period): Period {
  const len = p.until.getTime() - p.since.getTime();
  return { since: new Date(p.since.getTime() - len), until: p.since };
}

export function computeDigest(records: Iterable<LogRecord>, period: Period): Digest {
  const experiments = new Map<string, ExperimentCounts>();
  const repos = new Set<string>();
  const failures: FailureDetail[] = [];
  for (const r of records) {
    if (!inPeriod(r.mtimeMs, period)) continue;
    const run = r.run;
    const exp = run.experiment ?? UNKNOWN_EXPERIMENT;
    let c = experiments.get(exp);
    if (!c) {
      c = emptyCounts();
      experiments.set(exp, c);
    }
    for (const repo of run.uploadedRepos) repos.add(repo);
    if (run.outcome === 'running') {
      c.running++;
      continue;
    }
    c.completed++;
    if (run.outcome === 'succeeded') {
      c.succeeded++;
      continue;
    }
    c.failed++;
    const cause = run.failureCause ?? 'other';
    c.failures[cause]++;
    failures.push({ experiment: exp, jobId: run.jobId, step: run.step, cause, line: run.tellingLine });
  }
  const totals = { completed: 0, succeeded: 0, failed: 0, running: 0, successRate: 0 };
  const sorted: Record<string, ExperimentCounts> = {};
  for (const name of [...experiments.keys()].sort()) {
    const c = experiments.get(name) as ExperimentCounts;
    c.successRate = rate(c.succeeded, c.completed);
    sorted[name] = c;
    totals.completed += c.completed;
    totals.succeeded += c.succeeded;
    totals.failed += c.failed;
    totals.running += c.running;
  }
  totals.successRate = rate(totals.succeeded, totals.completed);
  failures.sort(
    (a, b) =>
      cmp(a.experiment, b.experiment) ||
      FAILURE_CAUSES.indexOf(a.cause) - FAILURE_CAUSES.indexOf(b.cause) ||
      JOB_ORDER.compare(a.jobId ?? '', b.jobId ?? ''),
  );
  return {
    period,
    json: { experiments: sorted, uploadedRepos: [...repos].sort() },
    failures,
    totals,
  };
}

/** The digest of `period` and of the period of equal length before it, with the change between them. */
export function compareWithPrevious(records: readonly LogRecord[], period: Period): DigestComparison {
  const current = computeDigest(records, period);
  const previous = computeDigest(records, previousPeriod(period));
  const pp = (x: number) => Math.round(x * 1000) / 10;
  const experimentRateChange: Record<string, number> = {};
  for (const [name, c] of Object.entries(current.json.experiments)) {
    const p = previous.json.experiments[name];
    if (p && p.completed > 0 && c.completed > 0)
      experimentRateChange[name] = pp(c.successRate - p.successRate);
  }
  return {
    current,
    previous,
    successRateChange:
      current.totals.completed > 0 && previous.totals.completed > 0
        ? pp(current.totals.successRate - previous.totals.successRate)
        : null,
    completedChange: current.totals.completed - previous.totals.completed,
    experimentRateChange,
  };
}

/** Daily success rate (0–100) over the `days` periods of `periodLength` ending at `until`, oldest first. */
export function dailyTrend(
  records: readonly LogRecord[],
  until: Date,
  days = 7,
  periodMs = 86_400_000,
): { since: Date; completed: number; successRate: number }[] {
  const out: { since: Date; completed: number; successRate: number }[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const end = new Date(until.getTime() - i * periodMs);
    const d = computeDigest(records, { since: new Date(end.getTime() - periodMs), until: end });
    out.push({
      since: d.period.since,
      completed: d.totals.completed,
      successRate: d.totals.successRate * 100,
    });
  }
  return out;
}

function emptyCounts(): ExperimentCounts {
  return {
    completed: 0,
    succeeded: 0,
    failed: 0,
    running: 0,
    successRate: 0,
    failures: { rate_limited: 0, timeout: 0, other: 0 },
  };
}

function rate(n: number, d: number): number {
  return d === 0 ? 0 : n / d;
}
