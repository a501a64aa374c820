import { ClusterError, trimStderr } from '../errors.js';
import { loadRemoteScript } from './remote-script.js';
import type { Transport } from './transport.js';

// What a training log gained since a byte offset (read by log-read-batcher.ts, every log of a poll in one
// command), and a log's last lines (remote/tail-log.sh).

export const DEFAULT_MAX_READ_BYTES = 256 * 1024;

const TAIL_LOG = loadRemoteScript('tail-log.sh');

export interface LogReadRequest {
  readonly file: string;
  readonly offset: number;
  /** Look for a first `global_step*` directory here (null = don't look). */
  readonly save?: string | null;
  readonly maxBytes?: number;
}

export type LogRead =
  | { readonly status: 'missing' }
  | {
      readonly status: 'ok';
      readonly size: number;
      readonly inode: string;
      /** Where the bytes start: the requested offset, or 0 when the file shrank (truncated/rotated). */
      readonly start: number;
      readonly bytes: number;
      readonly text: string;
      /** A `global_stepN` directory under save, or null (none, or not asked). */
      readonly checkpoint: string | null;
    };

/** A log's last lines, whole, and whether the byte cap left out some of the lines asked for. */
export interface LogTail {
  /** Oldest first, without their newlines. */
  readonly lines: readonly string[];
  /** True when `maxBytes` cut: fewer lines than asked for, though the log has more. */
  readonly capped: boolean;
}

/**
 * The last `lines` whole lines of a log, within `maxBytes`; null when there is no such file. One byte more
 * than the cap is read: when it comes, the cap cut, and the first (partial) line is dropped.
 */
export async function tailLines(
  transport: Transport,
  file: string,
  lines: number,
  maxBytes: number,
): Promise<LogTail | null> {
  const text = await tailLog(transport, file, lines, maxBytes + 1);
  if (text === null) return null;
  // Decoding never makes the text shorter in bytes (a split character becomes U+FFFD), so this is exact
  // for a UTF-8 log.
  const capped = Buffer.byteLength(text) > maxBytes;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const all = body === '' ? [] : body.split('\n');
  return { lines: capped ? all.slice(1) : all, capped };
}

/** The last `lines` lines of a log, at most `maxBytes` of them; null when there is no such file. */
export async function tailLog(
  transport: Transport,
  file: string,
  lines: number,
  maxBytes = 64 * 1024,
): Promise<string | null> {
  const r = await transport.runScript(TAIL_LOG, [file, String(lines), String(maxBytes)], {
    maxOutputBytes: maxBytes + 4096,
  });
  if (r.exitCode === 3) return null;
  if (r.exitCode !== 0) {
    throw new ClusterError(`reading ${file} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  return r.stdout;
}
