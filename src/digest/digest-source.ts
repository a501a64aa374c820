import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestReply } from '../pipeline/digest-reply.js';
import {
  compareWithPrevious,
  type DigestComparison,
  dailyTrend,
  type Period,
} from '../pipeline/digest-stats.js';
import type { Reply } from '../reply.js';
import { LogSweeper, type PipelineScanService, type SweepResult } from './log-sweeper.js';
import { MemoryScanStore } from './scan-store.js';

export interface DigestReport {
  readonly comparison: DigestComparison;
  readonly reply: Reply;
  readonly sweep: SweepResult;
}

/** A pipeline-log directory and the sweeper that reads it: sweep, then count. */
export class DigestSource {
  constructor(
    readonly dir: string,
    private readonly sweeper: LogSweeper,
  ) {}

  sweep(): Promise<SweepResult> {
    return this.sweeper.sweep(this.dir);
  }

  async report(period: Period, opts: { trend?: boolean } = {}): Promise<DigestReport> {
    const sweep = await this.sweep();
    const comparison = compareWithPrevious(sweep.records, period);
    const trend = opts.trend ? dailyTrend(sweep.records, period.until) : undefined;
    return { comparison, sweep, reply: digestReply(comparison, trend ? { trend } : {}) };
  }
}

/** What main.ts puts in `services.digest`. */
export interface DigestServices {
  /** The cluster's `<LOGS_DIR>/checkpoint_pipeline`, remembered in Redis between sweeps. */
  readonly cluster: DigestSource;
  /** Offline: a directory on this machine (`chatops digest --logs <dir>`). */
  local(dir: string): Promise<DigestSource>;
}

/**
 * An offline source for a local directory, read with the same one-command scan as the cluster (so the
 * offline digest and the posted one count identically), remembering nothing between runs. `scanner` runs
 * that scan on this machine (the wiring builds it over a local transport).
 * Accepts the log root too: if `<dir>` holds no pipeline logs but has `checkpoint_pipeline/`, that is used.
 */
export async function localDigestSource(dir: string, scanner: PipelineScanService): Promise<DigestSource> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new LocalDirError(dir);
  const sub = join(dir, 'checkpoint_pipeline');
  const subSt = await stat(sub).catch(() => null);
  const sweeper = new LogSweeper({ scanner, store: new MemoryScanStore() });
  if (subSt?.isDirectory()) {
    const here = await readdir(dir);
    if (!here.some((n) => /^checkpoint_pipeline_.*\.out$/.test(n))) return new DigestSource(sub, sweeper);
  }
  return new DigestSource(dir, sweeper);
}

export class LocalDirError extends Error {
  override readonly name = 'LocalDirError';
  constructor(readonly dir: string) {
    super(`${dir} is not a directory on this machine`);
  }
}

export function defaultPeriod(now: Date, since?: Date, until?: Date): Period {
  const u = until ?? now;
  return { since: since ?? new Date(u.getTime() - 86_400_000), until: u };
}
