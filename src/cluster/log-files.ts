// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are sh scripts; ${…} is shell parameter expansion

import { ClusterError, trimStderr } from '../errors.js';
import type { Transport } from './transport.js';

// One round trip per watched log per poll: stat the file, read exactly the new bytes from the byte offset
// (capped), and (while still wanted) look for the first `global_step*` under `save`. Exactly n bytes are
// read, n computed from the size stat saw, so the offset stays exact whatever the bytes decode to.

export const DEFAULT_MAX_READ_BYTES = 256 * 1024;

// $1 file, $2 offset, $3 max bytes, $4 save dir ('' = don't look). Header line: size inode start n ckpt.
const READ_SCRIPT = [
  'f=$1; off=$2; max=$3; save=$4;',
  'if [ ! -f "$f" ]; then echo missing; exit 0; fi;',
  'set -- $(stat -c "%s %i" -- "$f");',
  'size=$1; ino=$2; start=$off;',
  'if [ "$size" -lt "$off" ]; then start=0; fi;',
  'n=$((size - start)); if [ "$n" -gt "$max" ]; then n=$max; fi;',
  'ck=-;',
  'if [ -n "$save" ]; then for d in "$save"/global_step*; do if [ -d "$d" ]; then ck=${d##*/}; break; fi; done; fi;',
  'echo "$size $ino $start $n $ck";',
  'if [ "$n" -gt 0 ]; then tail -c +$((start + 1)) -- "$f" | head -c "$n"; fi',
].join(' ');

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

export async function readLogChunk(
  transport: Transport,
  req: {
    readonly file: string;
    readonly offset: number;
    readonly save?: string | null;
    readonly maxBytes?: number;
  },
): Promise<LogRead> {
  const max = req.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const r = await transport.run(
    ['sh', '-c', READ_SCRIPT, 'sh', req.file, String(req.offset), String(max), req.save ?? ''],
    { maxOutputBytes: max * 4 + 4096 },
  );
  if (r.exitCode !== 0) {
    throw new ClusterError(`reading ${req.file} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  const nl = r.stdout.indexOf('\n');
  const header = nl < 0 ? r.stdout : r.stdout.slice(0, nl);
  if (header === 'missing') return { status: 'missing' };
  const m = /^(\d+) (\d+) (\d+) (\d+) (\S+)$/.exec(header);
  if (!m) throw new ClusterError(`unexpected answer reading ${req.file}: ${header.slice(0, 200)}`);
  return {
    status: 'ok',
    size: Number(m[1]),
    inode: m[2] ?? '',
    start: Number(m[3]),
    bytes: Number(m[4]),
    text: nl < 0 ? '' : r.stdout.slice(nl + 1),
    checkpoint: m[5] === '-' ? null : (m[5] ?? null),
  };
}

// $1 file, $2 lines. For the final message and `/train logs`.
export async function tailLog(
  transport: Transport,
  file: string,
  lines: number,
  maxBytes = 64 * 1024,
): Promise<string | null> {
  const r = await transport.run(
    [
      'sh',
      '-c',
      'if [ ! -f "$1" ]; then exit 3; fi; tail -n "$2" -- "$1" | tail -c "$3"',
      'sh',
      file,
      String(lines),
      String(maxBytes),
    ],
    { maxOutputBytes: maxBytes + 4096 },
  );
  if (r.exitCode === 3) return null;
  if (r.exitCode !== 0) {
    throw new ClusterError(`reading ${file} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  return r.stdout;
}
