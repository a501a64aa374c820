// The one remote command of a sweep: POSIX sh + GNU find/head/tail/grep/awk/xargs, run as
// `sh -c SCRIPT pipeline-scan <dir> <shards> <dir mtime> <running expected> <running names>` (the last three:
// buildScanInput, for the fast path below). stdin: what we already read, one "name size mtime" line per log. Only new or changed logs are read at all, and most are never read whole. stdout:
//
//   M\t<dir mtime>\t<now>        the directory's mtime and the cluster's clock   (first line)
//   F\t<name>\t<size>\t<mtime>   a new or changed log                          (before any section)
//   D\t<name>                    a log we knew that is gone                    (before any section)
//   @@T  then H\t<jobid>\t<line> Experiment / Checkpoint lines from the first 4 KB
//             T\t<jobid>\t<line> from the last 4 KB: completion, upload, 429/timeout and error lines
//             X\t<name>          a log that is read whole (below)
//   @@C  then `name:line`        from the WHOLE of the X logs: upload, 429 and RequestTimeout lines
//                                (and Experiment/Checkpoint for the rare log whose first 4 KB lacks them)
//
// A log is read whole only when its last 4 KB cannot answer: it is still running (no completion line yet);
// it failed and the window shows no 429 (a 429 anywhere makes it rate_limited, so a timeout or other error
// in the window is not enough); or it succeeded and no "Successfully uploaded" line is in the window
// (evaluation output after the uploads pushes them out). Otherwise the window answers: the pipeline uploads
// as one step, so the upload lines sit together; an earlier upload separated from them by more than 4 KB
// (a raw NeoX upload before a long conversion, when SKIP_NEOX_UPLOAD is off) would be missed.
// The whole-file reads run in <shards> parallel streams. No temporary files and two processes when nothing
// changed. The script must be ONE line: the SSH transport refuses newlines and control characters in
// argv, so tabs are written as awk/printf escapes.

const LOG_GLOB = 'checkpoint_pipeline_*.out';
const LOG_NAME_AWK = '/^checkpoint_pipeline_[0-9_]+\\.out$/';
export const HEAD_BYTES = 4096;
export const TAIL_BYTES = 4096;
export const MAX_LINE = 1000;
export const DEFAULT_SHARDS = 2;

/** Read from the top of every changed log (grep stops after two matches). */
export const HEAD_PATTERNS = ['Experiment:', 'Checkpoint:', 'Processing checkpoint'] as const;
/** Upload lines: from the window, or from the whole log when the window has none. */
export const UPLOAD_PATTERNS = ['Successfully uploaded'] as const;
/** Why a run failed: from the whole of failed logs. */
export const CAUSE_PATTERNS = ['HfHubHTTPError', '429 Client Error', 'RequestTimeout'] as const;
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

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const eArgs = (ps: readonly string[]) => ps.map((p) => `-e ${shQuote(p)}`).join(' ');
const XARGS = "xargs -d '\\n'";
// T and H records carry the job id, not the whole name: 50,000 lines a sweep, every byte counts.
const T_LINE = `printf "T\\t%s\\t%s\\n",i,substr($0,1,${MAX_LINE})`;

export function buildScanScript(): string {
  const parts = [
    'export LC_ALL=C',
    // fd 3 keeps the known list (our stdin) for awk, whose own stdin is the listing.
    'cd -- "$1" || exit 3',
    // Fast path: $3 the directory's mtime at our last full sweep, $4 what find prints for the still-running
    // logs, $5 their names. A directory whose mtime has not moved has had no log added,
    // removed or renamed; finished logs are never written again; so if the running logs are unchanged too,
    // nothing is, and the sweep ends here without listing the directory.
    // (Arguments, not stdin: the shell's `read` takes a pipe one byte at a time.) On the fast path the known
    // list on stdin is drained unread, so the sender never meets a closed pipe.
    'M=$3; X=$4; N=$5',
    "C=$(find . -maxdepth 0 -printf '%T@')",
    `printf 'M\\t%s\\t%s\\n' "$C" "$(date +%s)"`,
    `if [ "$M" = "$C" ] && { [ -z "$N" ] || [ "$(find $N -maxdepth 0 -printf '%f:%s:%T@;' 2>/dev/null)" = "$X" ]; }; then cat > /dev/null; exit 0; fi`,
    // `check` mode ($6) only asks the fast-path question: exit 11 = something may have changed.
    '[ "$6" = check ] && exit 11',
    // fd 3 keeps the rest of our stdin (the known list) for awk, whose own stdin is the listing.
    'exec 3<&0',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'P=${2:-2}',
    // No mktemp/trap on the path where nothing changed: a re-sweep should cost one find and one awk. Work
    // files live in a private directory (mode 700), so the predictable $$ names are safe.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'd=${XDG_RUNTIME_DIR:-${HOME:-/tmp}/.cache}/slurm-chatops',
    '[ -d "$d" ] || mkdir -p -m 700 "$d" || exit 4',
    't="$d/scan.$$"',
    // FILENAME, not NR==FNR, because the known list is empty on the first sweep. Exit 10 = work to do.
    `find . -maxdepth 1 -type f -name '${LOG_GLOB}' -printf '%f %s %T@\\n' | awk -v ch="$t.c" 'FILENAME=="/dev/fd/3"{if(NF>=3)k[$1]=$2" "$3;next} $1 ~ ${LOG_NAME_AWK} {s[$1]=1; if(k[$1]!=$2" "$3){printf "F\\t%s\\t%s\\t%s\\n",$1,$2,$3; print $1 > ch; c++}} END{for(x in k) if(!(x in s)) printf "D\\t%s\\n",x; exit(c>0?10:0)}' /dev/fd/3 -`,
    'r=$?; [ $r -eq 0 ] && exit 0; [ $r -eq 10 ] || exit 5',
    `trap 'rm -f -- "$t".*' EXIT`,
    // Builtins only: clear what a killed earlier sweep with the same pid may have left.
    ': > "$t.f"',
    'i=0; while [ $i -lt $P ]; do : > "$t.s.$i"; rm_g="$t.s.$i.g"; : > "$rm_g"; i=$((i+1)); done',
    ': > "$t.h"',
    'echo @@T',
    // First and last block of every changed log in one stream (a marker header between them); grep -F thins
    // it before awk sees it, because awk's per-line work is the slow part.
    `{ ${XARGS} head -v -c ${HEAD_BYTES} < "$t.c"; printf '\\n==> @@tail <==\\n'; ${XARGS} tail -v -c ${TAIL_BYTES} < "$t.c"; } | grep -a -F ${eArgs(['==> ', ...HEAD_PATTERNS, 'Pipeline completed at', ...UPLOAD_PATTERNS, ...CAUSE_PATTERNS, ...ERRORISH])} | awk -v fl="$t.f" -v fh="$t.h" '/^==> .* <==$/{n=substr($0,5,length($0)-8); if(n=="@@tail"){tl=1; next} i=n; sub(/^checkpoint_pipeline_/,"",i); sub(/\\.out$/,"",i); if(tl) seen[n]=1; next} !tl {e=index($0,"Experiment:")>0; if(e) ex[n]=1; if(e || index($0,"Checkpoint:")>0 || index($0,"Processing checkpoint")>0) printf "H\\t%s\\t%s\\n",i,substr($0,1,${MAX_LINE}); next} index($0,"Pipeline completed at")>0 && $0 ~ /with exit code -?[0-9]+/ {${T_LINE}; ok[n]=($0 ~ /with exit code 0[^0-9]*$/); next} index($0,"Successfully uploaded")>0 {${T_LINE}; up[n]=1; next} {${T_LINE}; if(index($0,"429")>0 && (index($0,"HfHubHTTPError")>0 || index($0,"429 Client Error")>0)) r429[n]=1} END{for(x in seen) {if(!(x in ex)) print x > fh; if(!(x in ok) || (ok[x] && !(x in up)) || (!ok[x] && !(x in r429))) {print x > fl; printf "X\\t%s\\n",x}}}'`,
    'echo @@C',
    // Rare: no Experiment line in the first block (a long banner): look further, stopping at two matches.
    `[ -s "$t.h" ] && ${XARGS} grep -a -H -m 2 -F ${eArgs(HEAD_PATTERNS)} < "$t.h"`,
    '[ -s "$t.f" ] || exit 0',
    `awk -v p="$t.s." -v n="$P" '{print > (p (NR%n))}' "$t.f"`,
    `i=0; while [ $i -lt $P ]; do (${XARGS} grep -a -H -F ${eArgs([...UPLOAD_PATTERNS, ...CAUSE_PATTERNS])} < "$t.s.$i" > "$t.s.$i.g") & i=$((i+1)); done`,
    'wait',
    `cat "$t".s.*.g`,
    'exit 0',
  ];
  return parts.join('; ');
}

export interface ScannedFile {
  readonly name: string;
  readonly size: number;
  /** As find printed it (`%T@`): compared as text on the next sweep, so no float rounding. */
  readonly mtime: string;
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

/** Parse the script's stdout at the edge; unknown or malformed records are ignored, never trusted. */
export function parseScanOutput(stdout: string): ScanOutput {
  const files = new Map<
    string,
    {
      name: string;
      size: number;
      mtime: string;
      head: string[];
      mid: string[];
      tail: string[];
      whole: boolean;
    }
  >();
  const deleted: string[] = [];
  let section = '';
  const add = (name: string, key: 'head' | 'mid' | 'tail', line: string) => {
    const f = files.get(name);
    // Lines for a file without an F record (a race with a file appearing mid-scan) are dropped.
    if (f) f[key].push(line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line);
  };
  for (const rec of stdout.split('\n')) {
    if (rec.startsWith('@@') && rec.length === 3) {
      section = rec[2] as string;
      continue;
    }
    if (section === '' || section === 'T') {
      if (rec[1] !== '\t') continue;
      const kind = rec[0];
      const t2 = rec.indexOf('\t', 2);
      if (kind === 'D') {
        deleted.push(rec.slice(2));
      } else if (kind === 'F' && t2 > 0) {
        const name = rec.slice(2, t2);
        const [size, mtime] = rec.slice(t2 + 1).split('\t');
        const n = Number(size);
        if (!Number.isFinite(n) || mtime === undefined || !/^\d+(\.\d+)?$/.test(mtime)) continue;
        files.set(name, { name, size: n, mtime, head: [], mid: [], tail: [], whole: false });
      } else if (kind === 'T' && t2 > 0) {
        add(`checkpoint_pipeline_${rec.slice(2, t2)}.out`, 'tail', rec.slice(t2 + 1));
      } else if (kind === 'H' && t2 > 0) {
        add(`checkpoint_pipeline_${rec.slice(2, t2)}.out`, 'head', rec.slice(t2 + 1));
      } else if (kind === 'X') {
        const f = files.get(rec.slice(2));
        if (f) f.whole = true;
      }
      continue;
    }
    // `name:line` from grep; log names never contain ':'.
    const colon = rec.indexOf(':');
    if (colon <= 0) continue;
    add(rec.slice(0, colon), section === 'H' ? 'head' : 'mid', rec.slice(colon + 1));
  }
  const changed: ScannedFile[] = [];
  for (const f of files.values()) {
    changed.push({
      name: f.name,
      size: f.size,
      mtime: f.mtime,
      lines: [...f.head, ...f.mid],
      tail: f.tail,
      whole: f.whole,
    });
  }
  return { changed, deleted };
}

/** A directory mtime this recent may still change within the same clock tick: never trust it for the fast path. */
export const DIR_MTIME_SETTLE_S = 2;

/** Past this much running-log text the fast path is skipped (argv has limits; the full path always works). */
const MAX_FAST_ARGS = 64 * 1024;

/** The script's fast-path arguments ($3 $4 $5) and its stdin (every known log). */
export function buildScanInput(
  dirMtime: string | null,
  known: Iterable<{
    readonly name: string;
    readonly size: number;
    readonly mtime: string;
    readonly running: boolean;
  }>,
): { args: [string, string, string]; input: string } {
  let input = '';
  let expect = '';
  const names: string[] = [];
  for (const k of known) {
    input += `${k.name} ${k.size} ${k.mtime}\n`;
    // Only names of the form the scan itself lists reach the unquoted `find $N`.
    if (k.running && /^checkpoint_pipeline_[0-9_]+\.out$/.test(k.name)) {
      expect += `${k.name}:${k.size}:${k.mtime};`;
      names.push(`./${k.name}`);
    }
  }
  const n = names.join(' ');
  const fast = dirMtime !== null && expect.length + n.length <= MAX_FAST_ARGS;
  return { args: fast ? [dirMtime, expect, n] : ['-', '', ''], input };
}

/** The `M` record: the directory mtime worth remembering, or null when absent or too fresh to trust. */
export function settledDirMtime(stdout: string): string | null {
  const m = /^M\t(\d+(?:\.\d+)?)\t(\d+)$/m.exec(stdout.slice(0, 200));
  if (!m?.[1] || !m[2]) return null;
  return Number(m[2]) - Number(m[1]) >= DIR_MTIME_SETTLE_S ? m[1] : null;
}
