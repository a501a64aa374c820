import { type KnownLog, PIPELINE_LOG_NAME } from './pipeline-scan-records.js';
import type { PathStat } from './transport.js';

/** Past this much argv the quick check is skipped (argv has limits; the full scan always works). */
const MAX_CHECK_ARGS = 64 * 1024;

export interface QuickCheck {
  /** The directory, then each still-running log: what to stat. */
  readonly paths: string[];
  /** The same question as one `find` (for a transport that cannot stat without a command). */
  readonly argv: string[];
  /** True when find's stdout says nothing can have changed since the last full sweep. */
  unchanged(stdout: string): boolean;
  /** The same from stats, whose mtimes are doubles: equal to the microsecond counts as unchanged. */
  unchangedStats(stats: readonly (PathStat | null)[]): boolean;
}

/** find prints nanoseconds; a double holds about a quarter of a microsecond at today's epoch. */
const sameTime = (stat: number, printed: string) => Math.abs(stat - Number(printed)) < 2e-6;

/**
 * The question asked before a full sweep, as stats or ONE process (no shell of ours): has the directory's
 * mtime moved since the last full sweep, or has any log that was still running changed size or mtime? A
 * directory whose mtime has not moved has had no log added, removed or renamed; finished logs are never
 * written again; so if the running logs are unchanged too, nothing is. The directory mtime is trusted only
 * once it was 2 s old when read, so a change still landing within the same clock tick cannot hide behind it.
 * null when there is no trusted directory mtime, or too many running logs to name on one command line:
 * then the full scan answers.
 */
export function buildQuickCheck(
  dir: string,
  dirMtime: string | null,
  running: Iterable<KnownLog>,
): QuickCheck | null {
  if (dirMtime === null) return null;
  // find takes an operand starting with '-', '(' or '!' for an expression: anchor relative paths.
  const base = dir.startsWith('/') ? dir.replace(/(.)\/+$/, '$1') : `./${dir}`;
  const paths = [base];
  const want: { size: number; mtime: string }[] = [];
  let bytes = base.length;
  for (const r of running) {
    // Only names of the form the scan itself lists; anything else forces the full scan.
    if (!PIPELINE_LOG_NAME.test(r.name)) return null;
    const p = `${base}/${r.name}`;
    bytes += p.length + 1;
    if (bytes > MAX_CHECK_ARGS) return null;
    paths.push(p);
    want.push({ size: r.size, mtime: r.mtime });
  }
  return {
    paths,
    argv: ['find', '-H', ...paths, '-maxdepth', '0', '-printf', '%s %T@\\n'],
    unchanged(stdout: string) {
      const got = stdout.split('\n');
      if (got.at(-1) === '') got.pop();
      if (got.length !== want.length + 1) return false;
      if (got[0]?.slice(got[0].indexOf(' ') + 1) !== dirMtime) return false;
      return want.every((w, i) => got[i + 1] === `${w.size} ${w.mtime}`);
    },
    unchangedStats(stats: readonly (PathStat | null)[]) {
      if (stats.length !== want.length + 1) return false;
      const d = stats[0];
      if (!d || !sameTime(d.mtime, dirMtime)) return false;
      return want.every((w, i) => {
        const st = stats[i + 1];
        return st != null && st.size === w.size && sameTime(st.mtime, w.mtime);
      });
    },
  };
}
