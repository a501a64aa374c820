// The records of remote/pipeline-scan.sh (its header lists them) read back at the edge, and what its stdin
// says we already read. Unknown or malformed records are ignored, never trusted.

/** The logs the scan lists: `checkpoint_pipeline_<jobid>.out`, job ids of digits and `_` (array jobs). */
export const PIPELINE_LOG_NAME = /^checkpoint_pipeline_[0-9_]+\.out$/;
/** Longest line kept from a log (the script cuts H and T lines there too). */
export const MAX_LINE = 1000;
/** A directory mtime this recent may still change within the same clock tick: never trust it for the fast path. */
export const DIR_MTIME_SETTLE_S = 2;

/** A log as the scan saw it: name, size and find's `%T@` mtime (compared as text, so no float rounding). */
export interface KnownLog {
  readonly name: string;
  readonly size: number;
  readonly mtime: string;
}

export interface ScannedFile extends KnownLog {
  /** Lines in file order as far as the parser cares: head lines, then whole-file matches. */
  readonly lines: string[];
  /** Completion, upload, cause and error-looking lines from the end of the log. */
  readonly tail: string[];
  /** The log was read whole (its upload and cause lines are in `lines`, maybe also in `tail`). */
  readonly whole: boolean;
}

export interface ScanOutput {
  readonly changed: ScannedFile[];
  readonly deleted: string[];
}

interface Collecting {
  name: string;
  size: number;
  mtime: string;
  head: string[];
  mid: string[];
  tail: string[];
  whole: boolean;
}

const MTIME = /^\d+(\.\d+)?$/;
const PREFIX = 'checkpoint_pipeline_'.length;
const clipLine = (line: string) => (line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line);

/** What the scan's stdin says we already read: one "name size mtime" line per log. */
export function knownListInput(known: Iterable<KnownLog>): string {
  const parts: string[] = [];
  for (const k of known) parts.push(`${k.name} ${k.size} ${k.mtime}\n`);
  return parts.join('');
}

/** Parse the script's stdout: the F/D records, then the @@T section (H/T/X), then @@C (`name:line`). */
export function parseScanOutput(stdout: string): ScanOutput {
  // By name for F/D/X and the `name:line` section, by job id for the H/T records (which carry only the id).
  const byName = new Map<string, Collecting>();
  const byId = new Map<string, Collecting>();
  const deleted: string[] = [];
  let section = '';
  let start = 0;
  while (start < stdout.length) {
    let end = stdout.indexOf('\n', start);
    if (end < 0) end = stdout.length;
    const rec = stdout.slice(start, end);
    start = end + 1;
    if (rec.length === 3 && rec.startsWith('@@')) {
      section = rec[2] as string;
    } else if (section === '' || section === 'T') {
      readRecord(rec, byName, byId, deleted);
    } else {
      // `name:line` from grep; log names never contain ':'.
      const colon = rec.indexOf(':');
      const f = colon > 0 ? byName.get(rec.slice(0, colon)) : undefined;
      if (f) (section === 'H' ? f.head : f.mid).push(clipLine(rec.slice(colon + 1)));
    }
  }
  const changed: ScannedFile[] = [];
  for (const f of byName.values()) {
    changed.push({
      name: f.name,
      size: f.size,
      mtime: f.mtime,
      lines: f.mid.length === 0 ? f.head : [...f.head, ...f.mid],
      tail: f.tail,
      whole: f.whole,
    });
  }
  return { changed, deleted };
}

/** One tab-separated record: `K\t…`. */
function readRecord(
  rec: string,
  byName: Map<string, Collecting>,
  byId: Map<string, Collecting>,
  deleted: string[],
): void {
  if (rec.charCodeAt(1) !== 9) return;
  const kind = rec[0];
  const t2 = rec.indexOf('\t', 2);
  if (kind === 'T' || kind === 'H') {
    // Lines for a file without an F record (a race with a file appearing mid-scan) are dropped.
    const f = t2 > 0 ? byId.get(rec.slice(2, t2)) : undefined;
    if (f) (kind === 'T' ? f.tail : f.head).push(clipLine(rec.slice(t2 + 1)));
  } else if (kind === 'F' && t2 > 0) {
    const name = rec.slice(2, t2);
    const t3 = rec.indexOf('\t', t2 + 1);
    if (t3 < 0) return;
    const size = Number(rec.slice(t2 + 1, t3));
    const mtime = rec.slice(t3 + 1);
    if (!Number.isFinite(size) || !MTIME.test(mtime) || !PIPELINE_LOG_NAME.test(name)) return;
    const f: Collecting = { name, size, mtime, head: [], mid: [], tail: [], whole: false };
    byName.set(name, f);
    byId.set(name.slice(PREFIX, -4), f);
  } else if (kind === 'D') {
    deleted.push(rec.slice(2));
  } else if (kind === 'X') {
    const f = byName.get(rec.slice(2));
    if (f) f.whole = true;
  }
}

/** The `M` record: the directory mtime worth remembering, or null when absent or too fresh to trust. */
export function settledDirMtime(stdout: string): string | null {
  const m = /^M\t(\d+(?:\.\d+)?)\t(\d+)$/m.exec(stdout.slice(0, 200));
  if (!m?.[1] || !m[2]) return null;
  return Number(m[2]) - Number(m[1]) >= DIR_MTIME_SETTLE_S ? m[1] : null;
}
