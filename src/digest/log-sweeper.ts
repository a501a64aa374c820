import {
  buildQuickCheck,
  buildScanScript,
  CAUSE_PATTERNS,
  DEFAULT_SHARDS,
  HEAD_PATTERNS,
  knownListInput,
  parseScanOutput,
  type ScanEngine,
  settledDirMtime,
  UPLOAD_PATTERNS,
} from '../cluster/pipeline-scan.js';
import type { Transport } from '../cluster/transport.js';
import { ClusterError } from '../errors.js';
import type { LogRecord } from '../pipeline/digest-stats.js';
import { jobIdFromLogName, parsePipelineLines } from '../pipeline/pipeline-log.js';
import type { ScanStore, StoredLog } from './scan-store.js';

const GREPPED: readonly string[] = [...HEAD_PATTERNS, ...UPLOAD_PATTERNS, ...CAUSE_PATTERNS];

export interface SweepResult {
  /** Every pipeline log known after the sweep (read now or remembered). */
  readonly records: readonly LogRecord[];
  readonly changed: number;
  readonly deleted: number;
  /** Bytes of stdout the remote command sent back (0 when the stat agent answered the quick check). */
  readonly bytesReturned: number;
  /** Bytes of the changed logs on disk (what copying them would have cost). */
  readonly changedLogBytes: number;
  /** Where the time went, in ms: reading the store, the remote command, parsing, writing the store. */
  readonly timings: { load: number; remote: number; parse: number; save: number };
}

export interface LogScannerOptions {
  readonly transport: Transport;
  readonly store: ScanStore;
  readonly timeoutMs?: number;
  /** Parallel workers on the cluster side (a login node on a network filesystem likes more). */
  readonly shards?: number;
  /** Who reads the logs on the cluster: perl where present (`auto`, the default), or GNU tools only. */
  readonly engine?: ScanEngine;
}

/**
 * Sweeps one pipeline-log directory with ONE remote command that returns only the lines that matter, and
 * remembers (name → size, mtime, parsed run) so the next sweep reads only new or changed logs.
 * Sweeps of the same directory never overlap: in-process they queue; across replicas the store's lock does it.
 */
export class LogScanner {
  readonly #script = buildScanScript();
  readonly #inFlight = new Map<string, Promise<SweepResult>>();

  constructor(private readonly opts: LogScannerOptions) {
    const shards = opts.shards ?? DEFAULT_SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > 64) {
      throw new Error(`LogScanner: shards must be a whole number from 1 to 64, not ${shards}`);
    }
  }

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
    const t0 = performance.now();
    const { logs: stored, dirMtime } = await this.opts.store.load(dir);
    const t1 = performance.now();
    const timeoutMs = this.opts.timeoutMs ?? 300_000;
    // With a trusted directory mtime, first ask the cheap question: most sweeps end there.
    const check = buildQuickCheck(
      dir,
      dirMtime,
      [...stored.values()].filter((k) => k.run.outcome === 'running'),
    );
    if (check) {
      // Stats first (no process on the cluster); a transport that cannot stat right now asks find instead.
      const stats = (await this.opts.transport.statPaths?.(check.paths, { timeoutMs })) ?? null;
      let unchanged = false;
      let bytes = 0;
      if (stats) unchanged = check.unchangedStats(stats);
      else {
        const res = await this.opts.transport.run(check.argv, { timeoutMs });
        // Anything but a clean "unchanged" (a running log gone, a find error) is for the full scan to sort out.
        unchanged = res.exitCode === 0 && check.unchanged(res.stdout);
        bytes = Buffer.byteLength(res.stdout);
      }
      if (unchanged) {
        return {
          records: [...stored.values()],
          changed: 0,
          deleted: 0,
          bytesReturned: bytes,
          changedLogBytes: 0,
          timings: { load: t1 - t0, remote: performance.now() - t1, parse: 0, save: 0 },
        };
      }
    }
    const argv = [
      'sh',
      '-c',
      this.#script,
      'pipeline-scan',
      dir,
      String(this.opts.shards ?? DEFAULT_SHARDS),
      this.opts.engine ?? 'auto',
    ];
    const res = await this.opts.transport.run(argv, {
      input: knownListInput(stored.values()),
      timeoutMs,
      maxOutputBytes: 256 * 1024 * 1024,
    });
    if (res.exitCode !== 0) {
      const why =
        res.exitCode === 3
          ? `cannot enter log directory ${dir}`
          : res.exitCode === 6
            ? `the log scan was told to use perl, which ${dir}'s host lacks`
            : `log scan failed in ${dir}`;
      throw new ClusterError(why, { exitCode: res.exitCode, stderr: res.stderr });
    }
    const t2 = performance.now();
    const settled = settledDirMtime(res.stdout);
    const known = new Map(stored);
    const out = parseScanOutput(res.stdout);
    const upserts: StoredLog[] = [];
    let changedLogBytes = 0;
    for (const f of out.changed) {
      const jobId = jobIdFromLogName(f.name);
      if (jobId === null) continue;
      // A log read whole has its upload and cause lines in `lines` already: counting the window's copies
      // too would double its 429s. (The completion line comes only from the tail.)
      const extra = f.whole ? f.tail.filter((l) => !GREPPED.some((p) => l.includes(p))) : f.tail;
      const run = parsePipelineLines(extra.length === 0 ? f.lines : [...f.lines, ...extra], { jobId });
      const rec: StoredLog = { name: f.name, size: f.size, mtime: f.mtime, mtimeMs: mtimeToMs(f.mtime), run };
      upserts.push(rec);
      known.set(f.name, rec);
      changedLogBytes += f.size;
    }
    const deleted = out.deleted.filter((n) => known.delete(n));
    const t3 = performance.now();
    if (upserts.length > 0 || deleted.length > 0 || settled !== dirMtime) {
      await this.opts.store.save(dir, known, [...upserts.map((u) => u.name), ...deleted], settled);
    }
    const t4 = performance.now();
    return {
      records: [...known.values()],
      changed: upserts.length,
      deleted: deleted.length,
      bytesReturned: Buffer.byteLength(res.stdout),
      changedLogBytes,
      timings: { load: t1 - t0, remote: t2 - t1, parse: t3 - t2, save: t4 - t3 },
    };
  }
}

function mtimeToMs(mtime: string): number {
  const [s, frac = ''] = mtime.split('.');
  return Number(s) * 1000 + Math.floor(Number(`0.${frac || '0'}`) * 1000);
}
