// The one remote command of a full sweep: POSIX sh + GNU find/head/tail/grep/awk/xargs, and perl 5 where the
// cluster has it (it does the per-log work in one process; without it the same records come from head/tail,
// grep and awk). Run as `sh -c SCRIPT pipeline-scan <dir> <shards> [auto|perl|gnu]`. stdin: what we already
// read, one "name size mtime" line per log. Only new or changed logs are read at all, and most are never read
// whole. stdout:
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
//
// The changed logs are dealt round-robin to <shards> workers that run at once, each reading its logs' two
// windows and then grepping its own whole logs, so a login node's cores share the work. No temporary files
// when nothing changed. The script must be ONE line: the SSH transport refuses newlines
// and control characters in argv, so tabs are written as awk/printf/perl escapes.
//
// Between sweeps the scanner first asks a cheaper question (buildQuickCheck): has the directory's mtime or
// any still-running log moved? Most sweeps end there.

import type { PathStat } from './transport.js';

const LOG_GLOB = 'checkpoint_pipeline_*.out';
const LOG_NAME_AWK = '/^checkpoint_pipeline_[0-9_]+\\.out$/';
const LOG_NAME = /^checkpoint_pipeline_[0-9_]+\.out$/;
export const HEAD_BYTES = 4096;
export const TAIL_BYTES = 4096;
export const MAX_LINE = 1000;
export const DEFAULT_SHARDS = 2;
/** Who reads the windows: perl where the cluster has it (`auto`), or one of the two on purpose (tests). */
export type ScanEngine = 'auto' | 'perl' | 'gnu';

/** Read from the top of every changed log. */
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
/** What a tail window line must contain to come back at all. */
const TAIL_PATTERNS = [
  ...HEAD_PATTERNS,
  'Pipeline completed at',
  ...UPLOAD_PATTERNS,
  ...CAUSE_PATTERNS,
  ...ERRORISH,
];
const WHOLE_PATTERNS = [...UPLOAD_PATTERNS, ...CAUSE_PATTERNS];

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const eArgs = (ps: readonly string[]) => ps.map((p) => `-e ${shQuote(p)}`).join(' ');
/** An ERE alternation of fixed strings (one regex is faster than many -F patterns over whole logs). */
const ere = (ps: readonly string[]) => ps.map((p) => p.replace(/[.[\]()*+?{}|^$\\]/g, '\\$&')).join('|');
/** A perl alternation of fixed strings; only letters, digits and spaces go unescaped. */
const perlAlt = (ps: readonly string[]) => ps.map((p) => p.replace(/[^A-Za-z0-9 ]/g, '\\$&')).join('|');
const XARGS = "xargs -d '\\n'";
// T and H records carry the job id, not the whole name: 50,000 lines a sweep, every byte counts.
const T_LINE = `printf "T\\t%s\\t%s\\n",i,substr($0,1,${MAX_LINE})`;

/**
 * One worker with perl: per log, open once, read the first and the last 4 KB (one read when they overlap),
 * pick the lines out of the two windows, and decide there whether the log needs reading whole.
 * Keeps the exact record semantics of the GNU worker below (partial edge lines included), so both engines
 * return the same records. The code goes inside single quotes: it must hold none.
 */
function perlWorker(): string {
  const line = (buf: string) =>
    `my $a=rindex(${buf},"\\n",$-[0])+1; my $b=index(${buf},"\\n",$-[0]); $b=length(${buf}) if $b<0; my $x=substr(${buf},$a,$b-$a); pos(${buf})=$b;`;
  const code = [
    'my($xl,$hl)=@ARGV; open(my $X,">",$xl) or exit 7; open(my $H,">",$hl) or exit 7; my $o="";',
    'while(my $l=<STDIN>){ chomp $l; my($n)=split(/ /,$l); open(my $f,"<:raw",$n) or next;',
    `my $z=-s $f; my $h=""; sysread($f,$h,${HEAD_BYTES}); my $t=$h;`,
    // The tail window: the last TAIL_BYTES, taking what the head read already holds when they overlap.
    `if($z>${HEAD_BYTES}){ my $s=$z-${TAIL_BYTES}; if($s<${HEAD_BYTES}){ $t=substr($h,$s); $s=${HEAD_BYTES} } else { $t="" } sysseek($f,$s,0); my $r=""; sysread($f,$r,$z-$s); $t.=$r }`,
    `elsif($z>${TAIL_BYTES}){ $t=substr($h,$z-${TAIL_BYTES}) }`,
    'close($f); my $i=substr($n,20,-4); my $e=0;',
    `while($h=~/${perlAlt(HEAD_PATTERNS)}/g){ ${line('$h')} $e=1 if index($x,"Experiment:")>=0; $o.="H\\t$i\\t".substr($x,0,${MAX_LINE})."\\n" }`,
    'my($k,$u,$q);',
    `while($t=~/${perlAlt(TAIL_PATTERNS)}/g){ ${line('$t')} $o.="T\\t$i\\t".substr($x,0,${MAX_LINE})."\\n";`,
    'if(index($x,"Pipeline completed at")>=0 && $x=~/with exit code -?[0-9]+/){ $k=($x=~/with exit code 0[^0-9]*$/)?1:0 }',
    'elsif(index($x,"Successfully uploaded")>=0){ $u=1 }',
    'elsif(index($x,"429")>=0 && (index($x,"HfHubHTTPError")>=0 || index($x,"429 Client Error")>=0)){ $q=1 } }',
    'print $H "$n\\n" unless $e;',
    'if(!defined($k) || ($k && !$u) || (!$k && !$q)){ print $X "$n\\n"; $o.="X\\t$n\\n" }',
    'if(length($o)>65536){ print $o; $o="" } }',
    'print $o; close($X) or exit 7; close($H) or exit 7;',
  ].join(' ');
  if (code.includes("'")) throw new Error('scan-script: the perl worker must not contain a single quote');
  return code;
}

/**
 * The same worker from GNU head/tail/grep/awk. Each xargs batch ends with an `echo`, so a window that ends
 * mid-line cannot swallow the next batch's first `==> name <==` header.
 */
const gnuWorker = (i: string) =>
  `{ cut -d ' ' -f 1 < "$t.c.${i}" | ${XARGS} sh -c 'head -v -c ${HEAD_BYTES} -- "$@"; echo' sh; printf '\\n==> @@tail <==\\n'; cut -d ' ' -f 1 < "$t.c.${i}" | ${XARGS} sh -c 'tail -v -c ${TAIL_BYTES} -- "$@"; echo' sh; } | grep -a -F ${eArgs(['==> ', ...TAIL_PATTERNS])} | awk -v fl="$t.x.${i}" -v fh="$t.h.${i}" 'BEGIN{printf "" > fl; printf "" > fh} /^==> .* <==$/{n=substr($0,5,length($0)-8); if(n=="@@tail"){tl=1; next} i=n; sub(/^checkpoint_pipeline_/,"",i); sub(/\\.out$/,"",i); if(tl) seen[n]=1; next} !tl {e=index($0,"Experiment:")>0; if(e) ex[n]=1; if(e || index($0,"Checkpoint:")>0 || index($0,"Processing checkpoint")>0) printf "H\\t%s\\t%s\\n",i,substr($0,1,${MAX_LINE}); next} index($0,"Pipeline completed at")>0 && $0 ~ /with exit code -?[0-9]+/ {${T_LINE}; ok[n]=($0 ~ /with exit code 0[^0-9]*$/); next} index($0,"Successfully uploaded")>0 {${T_LINE}; up[n]=1; next} {${T_LINE}; if(index($0,"429")>0 && (index($0,"HfHubHTTPError")>0 || index($0,"429 Client Error")>0)) r429[n]=1} END{for(x in seen) {if(!(x in ex)) print x > fh; if(!(x in ok) || (ok[x] && !(x in up)) || (!ok[x] && !(x in r429))) {print x > fl; printf "X\\t%s\\n",x}}}'`;

export function buildScanScript(): string {
  const parts = [
    'export LC_ALL=C',
    'cd -- "$1" || exit 3',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'P=${2:-2}; W=${3:-auto}',
    `[ "$W" = auto ] && { command -v perl > /dev/null 2>&1 && W=perl || W=gnu; }`,
    `[ "$W" = perl ] && { command -v perl > /dev/null 2>&1 || exit 6; }`,
    `printf 'M\\t%s\\t%s\\n' "$(find . -maxdepth 0 -printf '%T@')" "$(date +%s)"`,
    // fd 3 keeps the known list (our stdin) for awk, whose own stdin is the listing.
    'exec 3<&0',
    // No mktemp/trap on the path where nothing changed: a sweep that finds nothing new costs one find and one
    // awk. Work files live in a private directory (mode 700), so the predictable $$ names are safe.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'd=${XDG_RUNTIME_DIR:-${HOME:-/tmp}/.cache}/slurm-chatops',
    '[ -d "$d" ] || mkdir -p -m 700 "$d" || exit 4',
    't="$d/scan.$$"',
    // FILENAME, not NR==FNR, because the known list is empty on the first sweep. Changed logs are dealt
    // round-robin into one list per worker (every list written, so none is left from a killed earlier sweep
    // with the same pid). Exit 10 = work to do.
    `find . -maxdepth 1 -type f -name '${LOG_GLOB}' -printf '%f %s %T@\\n' | awk -v ch="$t.c." -v n="$P" 'FILENAME=="/dev/fd/3"{if(NF>=3)k[$1]=$2" "$3;next} $1 ~ ${LOG_NAME_AWK} {s[$1]=1; if(k[$1]!=$2" "$3){printf "F\\t%s\\t%s\\t%s\\n",$1,$2,$3; print $1" "$2 > (ch (c%n)); c++}} END{for(x in k) if(!(x in s)) printf "D\\t%s\\n",x; if(c>0) for(j=0;j<n;j++) printf "" > (ch j); exit(c>0?10:0)}' /dev/fd/3 -`,
    'r=$?; [ $r -eq 0 ] && exit 0; [ $r -eq 10 ] || exit 5',
    `trap 'rm -f -- "$t".*' EXIT`,
    // Each worker: its windows, then its own whole logs, then an "ok" mark — a worker that died leaves none,
    // and the sweep fails rather than count logs it never read. (xargs says 123 when grep found nothing.)
    'i=0; while [ $i -lt $P ]; do : > "$t.o.$i"; : > "$t.x.$i"; : > "$t.h.$i"; : > "$t.g.$i"; : > "$t.k.$i"',
    `if [ -s "$t.c.$i" ]; then ( if [ "$W" = perl ]; then perl -e '${perlWorker()}' "$t.x.$i" "$t.h.$i" < "$t.c.$i" > "$t.o.$i" || exit 7; else ${gnuWorker('$i')} > "$t.o.$i" || exit 7; fi; if [ -s "$t.x.$i" ]; then ${XARGS} grep -a -H -E ${shQuote(ere(WHOLE_PATTERNS))} < "$t.x.$i" > "$t.g.$i"; g=$?; [ $g -eq 0 ] || [ $g -eq 123 ] || exit 7; fi; echo ok > "$t.k.$i" ) & fi`,
    'i=$((i+1)); done',
    'wait',
    'i=0; while [ $i -lt $P ]; do if [ -s "$t.c.$i" ] && [ ! -s "$t.k.$i" ]; then exit 8; fi; i=$((i+1)); done',
    'set --; i=0; while [ $i -lt $P ]; do set -- "$@" "$t.o.$i"; i=$((i+1)); done',
    'echo @@T',
    'cat -- "$@"',
    'echo @@C',
    // Rare: no Experiment line in the first block (a long banner): look further, stopping at two matches.
    'set --; i=0; while [ $i -lt $P ]; do set -- "$@" "$t.h.$i"; i=$((i+1)); done',
    `cat -- "$@" | ${XARGS} -r grep -a -H -m 2 -F ${eArgs(HEAD_PATTERNS)}`,
    'set --; i=0; while [ $i -lt $P ]; do set -- "$@" "$t.g.$i"; i=$((i+1)); done',
    'cat -- "$@"',
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

interface Collecting {
  name: string;
  size: number;
  mtime: string;
  head: string[];
  mid: string[];
  tail: string[];
  whole: boolean;
}

const clipLine = (line: string) => (line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line);
const PREFIX = 'checkpoint_pipeline_'.length;

/** Parse the script's stdout at the edge; unknown or malformed records are ignored, never trusted. */
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
      continue;
    }
    if (section === '' || section === 'T') {
      if (rec.charCodeAt(1) !== 9) continue; // "K\t…"
      const kind = rec[0];
      const t2 = rec.indexOf('\t', 2);
      if (kind === 'T' || kind === 'H') {
        // Lines for a file without an F record (a race with a file appearing mid-scan) are dropped.
        const f = t2 > 0 ? byId.get(rec.slice(2, t2)) : undefined;
        if (f) (kind === 'T' ? f.tail : f.head).push(clipLine(rec.slice(t2 + 1)));
      } else if (kind === 'F' && t2 > 0) {
        const name = rec.slice(2, t2);
        const t3 = rec.indexOf('\t', t2 + 1);
        if (t3 < 0) continue;
        const size = Number(rec.slice(t2 + 1, t3));
        const mtime = rec.slice(t3 + 1);
        if (!Number.isFinite(size) || !MTIME.test(mtime) || !LOG_NAME.test(name)) continue;
        const f: Collecting = { name, size, mtime, head: [], mid: [], tail: [], whole: false };
        byName.set(name, f);
        byId.set(name.slice(PREFIX, -4), f);
      } else if (kind === 'D') {
        deleted.push(rec.slice(2));
      } else if (kind === 'X') {
        const f = byName.get(rec.slice(2));
        if (f) f.whole = true;
      }
      continue;
    }
    // `name:line` from grep; log names never contain ':'.
    const colon = rec.indexOf(':');
    if (colon <= 0) continue;
    const f = byName.get(rec.slice(0, colon));
    if (f) (section === 'H' ? f.head : f.mid).push(clipLine(rec.slice(colon + 1)));
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

const MTIME = /^\d+(\.\d+)?$/;

/** A directory mtime this recent may still change within the same clock tick: never trust it for the fast path. */
export const DIR_MTIME_SETTLE_S = 2;

/** Past this much argv the quick check is skipped (argv has limits; the full scan always works). */
const MAX_CHECK_ARGS = 64 * 1024;

/** What the full scan's stdin says we already read: one "name size mtime" line per log. */
export function knownListInput(
  known: Iterable<{ readonly name: string; readonly size: number; readonly mtime: string }>,
): string {
  const parts: string[] = [];
  for (const k of known) parts.push(`${k.name} ${k.size} ${k.mtime}\n`);
  return parts.join('');
}

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
  running: Iterable<{ readonly name: string; readonly size: number; readonly mtime: string }>,
): QuickCheck | null {
  if (dirMtime === null) return null;
  // find takes an operand starting with '-', '(' or '!' for an expression: anchor relative paths.
  const base = dir.startsWith('/') ? dir.replace(/(.)\/+$/, '$1') : `./${dir}`;
  const paths = [base];
  const want: { size: number; mtime: string }[] = [];
  let bytes = base.length;
  for (const r of running) {
    // Only names of the form the scan itself lists; anything else forces the full scan.
    if (!LOG_NAME.test(r.name)) return null;
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

/** The `M` record: the directory mtime worth remembering, or null when absent or too fresh to trust. */
export function settledDirMtime(stdout: string): string | null {
  const m = /^M\t(\d+(?:\.\d+)?)\t(\d+)$/m.exec(stdout.slice(0, 200));
  if (!m?.[1] || !m[2]) return null;
  return Number(m[2]) - Number(m[1]) >= DIR_MTIME_SETTLE_S ? m[1] : null;
}
