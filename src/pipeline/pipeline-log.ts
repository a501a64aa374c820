// Reads a checkpoint-pipeline log's outcome (the upload worker, `/ckpt status` and the digest all use it).
//   parsePipelineLog(text, { jobId })  → PipelineRun (experiment, step, outcome, exitCode, failureCause,
//   tellingLine, uploadedRepos, rateLimit hints). parsePipelineLines(lines) does the same on a subset of
//   lines (the digest scanner only fetches the matching ones; PIPELINE_LINE_PATTERN says which).
//   jobIdFromLogName('checkpoint_pipeline_123.out') → '123'. Pure functions, no I/O.
//
// Counting rules (docs/domain.md#checkpoint-pipeline): succeeded iff "Pipeline completed at … with exit code 0"; no completion
// line = running (or crashed — the log cannot tell); a failed run is rate_limited if a 429 appears anywhere,
// else timeout if a RequestTimeout appears, else other. "Repository … already exists" is benign.

export type PipelineOutcome = 'succeeded' | 'failed' | 'running';
export type FailureCause = 'rate_limited' | 'timeout' | 'other';
export const FAILURE_CAUSES: readonly FailureCause[] = ['rate_limited', 'timeout', 'other'];

/** What a 429 printed about the Hub's limit (`RateLimit: "api";r=<remaining>;t=<reset s>`, `Retry-After`). */
export interface RateLimitHint {
  readonly policy?: string;
  readonly remaining?: number;
  readonly resetSeconds?: number;
  readonly retryAfterSeconds?: number;
}

export interface PipelineRun {
  readonly jobId: string | null;
  readonly experiment: string | null;
  readonly step: number | null;
  readonly outcome: PipelineOutcome;
  /** From the completion line; null while running. */
  readonly exitCode: number | null;
  /** The `<date>` text of the completion line, as printed. */
  readonly completedAt: string | null;
  /** Unique, in order of appearance: the text after the last " to " of each "Successfully uploaded" line. */
  readonly uploadedRepos: readonly string[];
  /** How many 429 lines the log shows (a run may retry through them and still succeed). */
  readonly rateLimitHits: number;
  readonly rateLimit: RateLimitHint | null;
  readonly timeoutHits: number;
  readonly repoAlreadyExists: boolean;
  /** Set only when outcome is 'failed'. */
  readonly failureCause: FailureCause | null;
  /** The line that tells why it failed (the 429, the timeout, the last error line, or the completion line). */
  readonly tellingLine: string | null;
}

const LOG_NAME = /^checkpoint_pipeline_([0-9]+(?:_[0-9]+)?)\.out$/;

/** `checkpoint_pipeline_<jobid>.out` → jobid; anything else is not a pipeline log → null. */
export function jobIdFromLogName(name: string): string | null {
  return LOG_NAME.exec(name)?.[1] ?? null;
}

export function isPipelineLogName(name: string): boolean {
  return LOG_NAME.test(name);
}

/**
 * Fixed strings that pick out every line the parser needs (used with `grep -F` on the cluster side).
 * Error-looking lines for the "other" cause come from the log's tail instead, so they are not listed here.
 */
export const PIPELINE_LINE_PATTERNS: readonly string[] = [
  'Experiment:',
  'Checkpoint:',
  'Processing checkpoint',
  'Successfully uploaded',
  'HfHubHTTPError',
  '429 Client Error',
  'Too Many Requests',
  'RateLimit',
  'Retry-After',
  'RequestTimeout',
  'already exists',
  'Pipeline completed at',
];

const RE = {
  experiment: /(?:^|[\s\]|])Experiment:\s*(\S+)/,
  checkpoint: /(?:^|[\s\]|])Checkpoint:\s*(?:global_step)?(\d+)\b/,
  processing: /Processing checkpoint\s+(?:global_step)?(\d+)\b/,
  uploaded: /Successfully uploaded .* to (\S+)/,
  http429: /HfHubHTTPError:\s*429\b|\b429 Client Error\b|\b429 Too Many Requests\b/,
  rateLimit: /RateLimit"?\s*[:=]\s*"?([A-Za-z_-]+)"?\s*;\s*r=(\d+)\s*;\s*t=(\d+)/,
  retryAfter: /Retry-After"?\s*[:=]\s*"?(\d+)/i,
  exists: /Repository \S+ already exists/,
  completed: /Pipeline completed at (.*?) with exit code (-?\d+)/,
  // "Traceback (most recent call last):" is never the telling line; the exception line after it is.
  errorish: /(?:Error|Exception)\b|\b(?:ERROR|FAILED|Failed|failed|Killed|CANCELLED|fatal)\b/,
};

export interface ParseOptions {
  readonly jobId?: string | null;
}

/** Parse a whole log. */
export function parsePipelineLog(text: string, opts: ParseOptions = {}): PipelineRun {
  return parsePipelineLines(text.split(/\r?\n/), opts);
}

/**
 * Parse the lines of one log in file order — all of them, or only the ones matching PIPELINE_LINE_PATTERNS
 * plus the log's last lines (that is what the scanner returns).
 */
export function parsePipelineLines(lines: Iterable<string>, opts: ParseOptions = {}): PipelineRun {
  const facts = new PipelineFacts();
  for (const raw of lines) facts.feed(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
  return facts.run(opts.jobId ?? null);
}

/** What the lines of one log have said so far. One instance per log; a sweep feeds tens of thousands. */
class PipelineFacts {
  experiment: string | null = null;
  step: number | null = null;
  exitCode: number | null = null;
  completedAt: string | null = null;
  completionLine: string | null = null;
  readonly repos = new Set<string>();
  rateLimitHits = 0;
  last429: string | null = null;
  rateLimit: { -readonly [K in keyof RateLimitHint]: RateLimitHint[K] } | null = null;
  timeoutHits = 0;
  lastTimeout: string | null = null;
  repoAlreadyExists = false;
  lastErrorish: string | null = null;

  feed(line: string): void {
    if (line === '') return;
    // Cheap substring checks first: most lines match nothing.
    if (this.experiment === null && line.includes('Experiment:')) {
      const m = RE.experiment.exec(line);
      if (m) {
        this.experiment = m[1] ?? null;
        return;
      }
    }
    if (this.step === null && (line.includes('Checkpoint:') || line.includes('Processing checkpoint'))) {
      const m = RE.checkpoint.exec(line) ?? RE.processing.exec(line);
      if (m) {
        this.step = Number(m[1]);
        return;
      }
    }
    if (line.includes('Pipeline completed at')) {
      const done = RE.completed.exec(line);
      if (done) {
        // The last completion line wins: a log appended by a re-run ends with the re-run's result.
        this.completedAt = done[1] ?? null;
        this.exitCode = Number(done[2]);
        this.completionLine = line.trim();
        return;
      }
    }
    if (line.includes('Successfully uploaded') && RE.uploaded.test(line)) {
      const repo = line.slice(line.lastIndexOf(' to ') + 4).trim();
      if (repo !== '') this.repos.add(repo);
      return;
    }
    if (line.includes('already exists') && RE.exists.test(line)) {
      this.repoAlreadyExists = true;
      return;
    }
    this.#failureLine(line);
  }

  /** 429s with their RateLimit / Retry-After hints, timeouts, and the last error-looking line. */
  #failureLine(line: string): void {
    let hinted = false;
    if (line.includes('RateLimit')) {
      const rl = RE.rateLimit.exec(line);
      if (rl) {
        this.rateLimit = {
          ...(this.rateLimit ?? {}),
          policy: rl[1],
          remaining: Number(rl[2]),
          resetSeconds: Number(rl[3]),
        };
        hinted = true;
      }
    }
    if (line.includes('Retry-After') || line.includes('retry-after')) {
      const ra = RE.retryAfter.exec(line);
      if (ra) {
        this.rateLimit = { ...(this.rateLimit ?? {}), retryAfterSeconds: Number(ra[1]) };
        hinted = true;
      }
    }
    if (line.includes('429') && RE.http429.test(line)) {
      this.rateLimitHits++;
      this.last429 = line.trim();
      return;
    }
    if (line.includes('RequestTimeout')) {
      this.timeoutHits++;
      this.lastTimeout = line.trim();
      return;
    }
    if (!hinted && RE.errorish.test(line)) this.lastErrorish = line.trim();
  }

  /** A failed run is rate_limited if it saw a 429 anywhere, else timeout, else other. */
  run(jobId: string | null): PipelineRun {
    const exitCode = this.exitCode;
    const outcome: PipelineOutcome = exitCode === null ? 'running' : exitCode === 0 ? 'succeeded' : 'failed';
    let failureCause: FailureCause | null = null;
    let tellingLine: string | null = null;
    if (outcome === 'failed') {
      if (this.rateLimitHits > 0) {
        failureCause = 'rate_limited';
        tellingLine = this.last429;
      } else if (this.timeoutHits > 0) {
        failureCause = 'timeout';
        tellingLine = this.lastTimeout;
      } else {
        failureCause = 'other';
        tellingLine = this.lastErrorish ?? this.completionLine;
      }
    }
    return {
      jobId,
      experiment: this.experiment,
      step: this.step,
      outcome,
      exitCode,
      completedAt: this.completedAt,
      uploadedRepos: [...this.repos],
      rateLimitHits: this.rateLimitHits,
      rateLimit: this.rateLimit,
      timeoutHits: this.timeoutHits,
      repoAlreadyExists: this.repoAlreadyExists,
      failureCause,
      tellingLine: tellingLine === null ? null : clip(tellingLine),
    };
  }
}

function clip(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
