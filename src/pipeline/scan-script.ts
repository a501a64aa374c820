// The one remote command of a sweep: POSIX sh + GNU find/grep/awk/tail/xargs, run as `sh -c SCRIPT scan <dir>`.
// stdin: what we already read, one "name size mtime" line per log. stdout, one record per line:
//   F\t<name>\t<size>\t<mtime>   a new or changed log (its H/L/T lines follow somewhere in the output)
//   D\t<name>                    a log we knew that is gone
//   H\t<name>\t<line>            Experiment / Checkpoint lines from the top (grep -m 2 stops reading there)
//   L\t<name>\t<line>            "Successfully uploaded" lines; for FAILED runs also 429 / RateLimit /
//                                 Retry-After / RequestTimeout lines (only failed runs need a cause)
//   T\t<name>\t<line>            the completion line (from the last 1 KB); for failed runs the last 2 KB
// Only new or changed files are read. Each is read whole exactly once, by a single-pattern grep (as fast as
// the `grep -l` it replaces; failed runs, a minority, get the few extra patterns instead); head and tail
// reads are one block each. Lines are cut at 1,000 bytes.
// The script must be ONE line: the SSH transport refuses newlines and control characters in argv, so tabs
// are written as awk/printf escapes.

const LOG_GLOB = 'checkpoint_pipeline_*.out';
const LOG_NAME_AWK = '/^checkpoint_pipeline_[0-9_]+\\.out$/';
export const TAIL_BYTES = 2048;
export const LAST_LINE_BYTES = 1024;
export const MAX_LINE = 1000;

/** Read from the top of every changed log (grep stops after two matches). */
export const HEAD_PATTERNS = ['Experiment:', 'Checkpoint:', 'Processing checkpoint'] as const;
/** Read from the whole of every changed log. */
export const UPLOAD_PATTERNS = ['Successfully uploaded'] as const;
/** Read from the whole of failed logs only. */
export const CAUSE_PATTERNS = [
  'HfHubHTTPError',
  '429 Client Error',
  'Too Many Requests',
  'RateLimit',
  'Retry-After',
  'RequestTimeout',
] as const;

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const eArgs = (ps: readonly string[]) => ps.map((p) => `-e ${shQuote(p)}`).join(' ');
/** awk that turns `name:line` grep output into `<kind>\t<name>\t<line>`. */
const prefix = (kind: string) =>
  `awk '{i=index($0,":"); printf "${kind}\\t%s\\t%s\\n",substr($0,1,i-1),substr($0,i+1,${MAX_LINE})}'`;
/** awk that turns `tail -v` output into `T\t<name>\t<line>`; `filter` limits which lines pass. */
const tailAwk = (filter: string, extra = '') =>
  `awk ${extra}'/^==> .* <==$/{n=substr($0,5,length($0)-8);next} ${filter}'`;

export function buildScanScript(): string {
  const parts = [
    'export LC_ALL=C',
    'cd -- "$1" || exit 3',
    't=$(mktemp -d) || exit 4',
    `trap 'rm -rf -- "$t"' EXIT`,
    'cat > "$t/k"',
    `find . -maxdepth 1 -type f -name '${LOG_GLOB}' -printf '%f %s %T@\\n' > "$t/n" || exit 5`,
    // FILENAME, not NR==FNR: the known list is empty on the first sweep.
    `awk -v ch="$t/c" 'FILENAME==ARGV[1]{if(NF>=3)k[$1]=$2" "$3;next} $1 ~ ${LOG_NAME_AWK} {s[$1]=1; if(k[$1]!=$2" "$3){printf "F\\t%s\\t%s\\t%s\\n",$1,$2,$3; print $1 > ch}} END{for(x in k) if(!(x in s)) printf "D\\t%s\\n",x}' "$t/k" "$t/n"`,
    '[ -s "$t/c" ] || exit 0',
    // -a: a stray NUL must not turn a log into "Binary file matches". -H: a name even for one file.
    `xargs -d '\\n' grep -a -H -m 2 -F ${eArgs(HEAD_PATTERNS)} < "$t/c" | ${prefix('H')}`,
    // The completion line is the last line; the last such line in the window decides.
    `xargs -d '\\n' tail -v -c ${LAST_LINE_BYTES} < "$t/c" | ${tailAwk(
      'index($0,"Pipeline completed at")>0 && $0 ~ /with exit code -?[0-9]+/ {printf "T\\t%s\\t%s\\n",n,substr($0,1,' +
        MAX_LINE +
        '); ok[n]=($0 ~ /with exit code 0[^0-9]*$/)} END{for(x in ok) if(!ok[x]) print x > fl}',
      '-v fl="$t/f" ',
    )}`,
    ': > "$t/f.x"; [ -s "$t/f" ] && sort "$t/f" > "$t/f.x"',
    `sort "$t/c" | comm -23 - "$t/f.x" > "$t/o"`,
    `[ -s "$t/o" ] && xargs -d '\\n' grep -a -H -F ${eArgs(UPLOAD_PATTERNS)} < "$t/o" | ${prefix('L')}`,
    '[ -s "$t/f" ] || exit 0',
    `xargs -d '\\n' grep -a -H -F ${eArgs([...UPLOAD_PATTERNS, ...CAUSE_PATTERNS])} < "$t/f" | ${prefix('L')}`,
    `xargs -d '\\n' tail -v -c ${TAIL_BYTES} < "$t/f" | ${tailAwk(`{printf "T\\t%s\\t%s\\n",n,substr($0,1,${MAX_LINE})}`)}`,
    'exit 0',
  ];
  return parts.join('; ');
}

export interface ScannedFile {
  readonly name: string;
  readonly size: number;
  /** As find printed it (`%T@`): compared as text on the next sweep, so no float rounding. */
  readonly mtime: string;
  /** H lines, then L lines: top of file first, as the parser expects. */
  readonly lines: string[];
  readonly tail: string[];
}

export interface ScanOutput {
  readonly changed: ScannedFile[];
  readonly deleted: string[];
}

/** Parse the script's stdout at the edge; unknown or malformed records are ignored, never trusted. */
export function parseScanOutput(stdout: string): ScanOutput {
  const files = new Map<string, ScannedFile>();
  const deleted: string[] = [];
  const pending = new Map<string, { head: string[]; lines: string[]; tail: string[] }>();
  const bucket = (name: string) => {
    let b = pending.get(name);
    if (!b) {
      b = { head: [], lines: [], tail: [] };
      pending.set(name, b);
    }
    return b;
  };
  for (const rec of stdout.split('\n')) {
    const t1 = rec.indexOf('\t');
    if (t1 !== 1) continue;
    const kind = rec[0];
    const rest = rec.slice(2);
    if (kind === 'D') {
      deleted.push(rest);
      continue;
    }
    const t2 = rest.indexOf('\t');
    if (t2 < 0) continue;
    const name = rest.slice(0, t2);
    const body = rest.slice(t2 + 1);
    if (kind === 'F') {
      const [size, mtime] = body.split('\t');
      const n = Number(size);
      if (!Number.isFinite(n) || mtime === undefined || !/^\d+(\.\d+)?$/.test(mtime)) continue;
      const b = bucket(name);
      files.set(name, { name, size: n, mtime, lines: [], tail: b.tail });
    } else if (kind === 'H') {
      bucket(name).head.push(body);
    } else if (kind === 'L') {
      bucket(name).lines.push(body);
    } else if (kind === 'T') {
      bucket(name).tail.push(body);
    }
  }
  const changed = [...files.values()].map((f) => {
    const b = pending.get(f.name);
    return b ? { ...f, lines: [...b.head, ...b.lines] } : f;
  });
  return { changed, deleted };
}
