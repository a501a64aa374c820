import { ClusterError } from '../errors.js';
import { buildQuickCheck } from './pipeline-quick-check.js';
import {
  type KnownLog,
  knownListInput,
  parseScanOutput,
  type ScannedFile,
  settledDirMtime,
} from './pipeline-scan-records.js';
import { loadRemoteScript } from './remote-script.js';
import type { Transport } from './transport.js';

// A checkpoint-pipeline log directory read from the cluster in ONE command (remote/pipeline-scan.sh, with
// remote/scan-worker.pl doing the per-log work where the host has perl) that returns only the lines that
// matter, and reads only the logs that are new or changed since what the caller already read. Between full
// scans a cheaper question (buildQuickCheck) asks whether the directory or a still-running log moved at all.

/** Who reads the windows: perl where the cluster has it (`auto`), or one of the two on purpose (tests). */
export type ScanEngine = 'auto' | 'perl' | 'gnu';

export const DEFAULT_SHARDS = 2;
const DEFAULT_TIMEOUT_MS = 300_000;

/** Read from the top of every changed log. */
const HEAD_PATTERNS = ['Experiment:', 'Checkpoint:', 'Processing checkpoint'];
/** Upload lines: from the window, or from the whole log when the window has none. */
const UPLOAD_PATTERNS = ['Successfully uploaded'];
/** Why a run failed: from the whole of failed logs. */
const CAUSE_PATTERNS = ['HfHubHTTPError', '429 Client Error', 'RequestTimeout'];
/** Tail lines worth returning besides the above (the "other" failure's telling line, 429 hints). */
const ERRORISH = [
  'Error',
  'Exception',
  'ERROR',
  'FAILED',
  'Failed',
  'failed',
  'Killed',
  'CANCELLED',
  'fatal',
  'RateLimit',
  'Retry-After',
];
/** What a tail window line must contain to come back at all. */
const TAIL_PATTERNS = [
  ...HEAD_PATTERNS,
  'Pipeline completed at',
  ...UPLOAD_PATTERNS,
  ...CAUSE_PATTERNS,
  ...ERRORISH,
];
/** What a log read whole is searched for. */
const WHOLE_PATTERNS = [...UPLOAD_PATTERNS, ...CAUSE_PATTERNS];
/** Lines of a log read whole that its head and whole-log searches already returned. */
const SEARCHED_WHOLE = [...HEAD_PATTERNS, ...WHOLE_PATTERNS];

/** The script's HEAD and TAIL operands: fixed strings separated by `|`. */
function fixedList(patterns: readonly string[]): string {
  for (const p of patterns) {
    if (p === '' || p.includes('|'))
      throw new Error(`pipeline scan: pattern ${JSON.stringify(p)} cannot travel`);
  }
  return patterns.join('|');
}
/** An ERE alternation of fixed strings (one regex is faster than many -F patterns over whole logs). */
const ere = (ps: readonly string[]) => ps.map((p) => p.replace(/[.[\]()*+?{}|^$\\]/g, '\\$&')).join('|');

const PATTERN_OPERANDS = [fixedList(HEAD_PATTERNS), fixedList(TAIL_PATTERNS), ere(WHOLE_PATTERNS)] as const;

/** The program of a full scan, with its perl worker beside it. */
export const PIPELINE_SCAN = loadRemoteScript('pipeline-scan.sh', {
  env: { SCAN_WORKER_PL: loadRemoteScript('scan-worker.pl') },
});

/** PIPELINE_SCAN's operands: the directory, the workers, the engine, then the search patterns. */
export function scanOperands(dir: string, shards: number, engine: ScanEngine): string[] {
  return [dir, String(shards), engine, ...PATTERN_OPERANDS];
}

/** A new or changed log: its lines in the order the pipeline-log parser wants them. */
export interface ScannedLog extends KnownLog {
  readonly lines: readonly string[];
}

export interface ScanResult {
  readonly changed: readonly ScannedLog[];
  /** Known logs that are gone. */
  readonly deleted: readonly string[];
  /** The directory's mtime when it is old enough to trust for the next quick check, else null. */
  readonly dirMtime: string | null;
  /** Bytes of stdout the command sent back. */
  readonly bytesReturned: number;
}

export interface QuickCheckResult {
  /** Nothing can have changed since the full scan that gave the directory mtime. */
  readonly unchanged: boolean;
  /** Bytes of stdout a command sent back (0 when the transport answered by stats). */
  readonly bytesReturned: number;
}

export interface PipelineScannerOptions {
  /** Parallel workers on the cluster side (a login node on a network filesystem likes more). */
  readonly shards?: number;
  /** Who reads the logs on the cluster: perl where present (`auto`, the default), or GNU tools only. */
  readonly engine?: ScanEngine;
  /** For the full scan and the quick check each. Default 5 minutes. */
  readonly timeoutMs?: number;
}

/** The full scan and the quick check of a pipeline-log directory, through a Transport. */
export class PipelineScanner {
  readonly #shards: number;
  readonly #engine: ScanEngine;
  readonly #timeoutMs: number;

  constructor(
    private readonly transport: Transport,
    opts: PipelineScannerOptions = {},
  ) {
    const shards = opts.shards ?? DEFAULT_SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > 64) {
      throw new Error(`PipelineScanner: shards must be a whole number from 1 to 64, not ${shards}`);
    }
    this.#shards = shards;
    this.#engine = opts.engine ?? 'auto';
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Has `dir` or any of its `running` logs moved since the full scan that saw `dirMtime`? Stats where the
   * transport can (no process on the cluster), else one `find`. null when there is nothing to ask (no
   * trusted directory mtime, too many running logs): then only the full scan can tell.
   */
  async quickCheck(
    dir: string,
    dirMtime: string | null,
    running: Iterable<KnownLog>,
  ): Promise<QuickCheckResult | null> {
    const check = buildQuickCheck(dir, dirMtime, running);
    if (!check) return null;
    const timeoutMs = this.#timeoutMs;
    const stats = (await this.transport.statPaths?.(check.paths, { timeoutMs })) ?? null;
    if (stats) return { unchanged: check.unchangedStats(stats), bytesReturned: 0 };
    const res = await this.transport.run(check.argv, { timeoutMs });
    // Anything but a clean "unchanged" (a running log gone, a find error) is for the full scan to sort out.
    return {
      unchanged: res.exitCode === 0 && check.unchanged(res.stdout),
      bytesReturned: Buffer.byteLength(res.stdout),
    };
  }

  /** The full scan: every new or changed log of `dir` read, and the `known` logs that are gone. */
  async scan(dir: string, known: Iterable<KnownLog>): Promise<ScanResult> {
    const res = await this.transport.runScript(PIPELINE_SCAN, scanOperands(dir, this.#shards, this.#engine), {
      input: knownListInput(known),
      timeoutMs: this.#timeoutMs,
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
    const out = parseScanOutput(res.stdout);
    return {
      changed: out.changed.map(linesToParse),
      deleted: out.deleted,
      dirMtime: settledDirMtime(res.stdout),
      bytesReturned: Buffer.byteLength(res.stdout),
    };
  }
}

/**
 * A log read whole has its head, upload and cause lines in `lines` already: adding the window's copies too
 * would double its 429s. Its completion and error lines come only from the tail window.
 */
function linesToParse(f: ScannedFile): ScannedLog {
  const extra = f.whole ? f.tail.filter((l) => !SEARCHED_WHOLE.some((p) => l.includes(p))) : f.tail;
  return {
    name: f.name,
    size: f.size,
    mtime: f.mtime,
    lines: extra.length === 0 ? f.lines : [...f.lines, ...extra],
  };
}
