import type { PipelineScanner } from '../cluster/pipeline-scanner.js';
import type { Metrics } from '../metrics.js';
import type { LogRecord } from '../pipeline/digest-stats.js';
import { jobIdFromLogName, parsePipelineLines } from '../pipeline/pipeline-log.js';
import type { ScanStore, StoredLog } from './scan-store.js';

export interface SweepResult {
  /** Every pipeline log known after the sweep (read now or remembered). */
  readonly records: readonly LogRecord[];
  readonly changed: number;
  readonly deleted: number;
  /** Bytes of stdout the remote command sent back (0 when the stat agent answered the quick check). */
  readonly bytesReturned: number;
  /** Bytes of the changed logs on disk (what copying them would have cost). */
  readonly changedLogBytes: number;
  /** Where the time went, in ms: reading the store, the cluster side (scan and its records), parsing the
   * runs, writing the store. */
  readonly timings: { load: number; remote: number; parse: number; save: number };
}

/** The cluster side of a sweep: the full scan and the quick check before it. */
export type PipelineScanService = Pick<PipelineScanner, 'scan' | 'quickCheck'>;

export interface LogSweeperOptions {
  readonly scanner: PipelineScanService;
  readonly store: ScanStore;
  /** Each sweep's duration, quick (nothing changed) or full. */
  readonly metrics?: Pick<Metrics, 'digestSweeps'>;
}

/**
 * Sweeps one pipeline-log directory and remembers (name → size, mtime, parsed run), so the next sweep reads
 * only new or changed logs, and most sweeps end at the quick check.
 * Sweeps of the same directory never overlap: in-process they queue; across replicas the store's lock does it.
 */
export class LogSweeper {
  readonly #inFlight = new Map<string, Promise<SweepResult>>();

  constructor(private readonly opts: LogSweeperOptions) {}

  sweep(dir: string): Promise<SweepResult> {
    const prev = this.#inFlight.get(dir) ?? Promise.resolve(undefined);
    const next = prev
      .catch(() => undefined)
      .then(() => this.opts.store.withLock(dir, () => this.#sweepOnce(dir)));
    this.#inFlight.set(dir, next);
    void next
      .finally(() => {
        if (this.#inFlight.get(dir) === next) this.#inFlight.delete(dir);
      })
      .catch(() => undefined);
    return next;
  }

  async #sweepOnce(dir: string): Promise<SweepResult> {
    const { scanner, store } = this.opts;
    const t0 = performance.now();
    const { logs: stored, dirMtime } = await store.load(dir);
    const t1 = performance.now();
    // With a trusted directory mtime, first ask the cheap question: most sweeps end there.
    const running = [...stored.values()].filter((k) => k.run.outcome === 'running');
    const quick = await scanner.quickCheck(dir, dirMtime, running);
    if (quick?.unchanged) {
      this.opts.metrics?.digestSweeps.observe({ kind: 'quick' }, (performance.now() - t0) / 1000);
      return {
        records: [...stored.values()],
        changed: 0,
        deleted: 0,
        bytesReturned: quick.bytesReturned,
        changedLogBytes: 0,
        timings: { load: t1 - t0, remote: performance.now() - t1, parse: 0, save: 0 },
      };
    }
    const scan = await scanner.scan(dir, stored.values());
    const t2 = performance.now();
    const known = new Map(stored);
    const upserts: StoredLog[] = [];
    let changedLogBytes = 0;
    for (const f of scan.changed) {
      const jobId = jobIdFromLogName(f.name);
      if (jobId === null) continue;
      const run = parsePipelineLines(f.lines, { jobId });
      const rec: StoredLog = { name: f.name, size: f.size, mtime: f.mtime, mtimeMs: mtimeToMs(f.mtime), run };
      upserts.push(rec);
      known.set(f.name, rec);
      changedLogBytes += f.size;
    }
    const deleted = scan.deleted.filter((n) => known.delete(n));
    const t3 = performance.now();
    if (upserts.length > 0 || deleted.length > 0 || scan.dirMtime !== dirMtime) {
      await store.save(dir, known, [...upserts.map((u) => u.name), ...deleted], scan.dirMtime);
    }
    const t4 = performance.now();
    this.opts.metrics?.digestSweeps.observe({ kind: 'full' }, (t4 - t0) / 1000);
    return {
      records: [...known.values()],
      changed: upserts.length,
      deleted: deleted.length,
      bytesReturned: scan.bytesReturned,
      changedLogBytes,
      timings: { load: t1 - t0, remote: t2 - t1, parse: t3 - t2, save: t4 - t3 },
    };
  }
}

function mtimeToMs(mtime: string): number {
  const [s, frac = ''] = mtime.split('.');
  return Number(s) * 1000 + Math.floor(Number(`0.${frac || '0'}`) * 1000);
}
