// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are sh scripts; ${…} is shell parameter expansion

import { ClusterError, trimStderr } from '../errors.js';
import type { LogRead } from './log-files.js';
import type { Transport } from './transport.js';

// Every watch reads its log right after the same squeue tick; this gathers those reads into ONE remote
// command per poll instead of one SSH exec per log. Each chunk comes back base64-encoded so the byte
// counts stay exact whatever the log contains.

export interface LogReadRequest {
  readonly file: string;
  readonly offset: number;
  readonly save?: string | null;
  readonly maxBytes?: number;
}

// $1 = max bytes per file, then triples (file, offset, save). One header line per file, then its base64.
const BATCH_SCRIPT = [
  'max=$1; shift; i=0;',
  'while [ "$#" -ge 3 ]; do',
  '  f=$1; off=$2; save=$3; shift 3;',
  '  if [ ! -f "$f" ]; then echo "@@ $i missing"; else',
  '    set -- $(stat -c "%s %i" -- "$f") "$@";',
  '    size=$1; ino=$2; shift 2; start=$off;',
  '    if [ "$size" -lt "$off" ]; then start=0; fi;',
  '    n=$((size - start)); if [ "$n" -gt "$max" ]; then n=$max; fi;',
  '    ck=-;',
  '    if [ -n "$save" ]; then for d in "$save"/global_step*; do if [ -d "$d" ]; then ck=${d##*/}; break; fi; done; fi;',
  '    echo "@@ $i $size $ino $start $n $ck";',
  '    if [ "$n" -gt 0 ]; then tail -c +$((start + 1)) -- "$f" | head -c "$n" | base64 -w 0; fi;',
  '    echo;',
  '  fi;',
  '  i=$((i + 1));',
  'done',
].join(' ');

// The same in one perl process: a shell forks 4 programs per log, which on a busy login node is most of the
// cost of a poll. The header is printed after the read, so n is what was actually read.
const BATCH_PERL = [
  'use strict; use MIME::Base64;',
  'my $max = shift @ARGV; my $i = 0;',
  'while (@ARGV >= 3) {',
  '  my ($f, $off, $save) = splice(@ARGV, 0, 3);',
  '  my @st = stat($f);',
  '  if (!@st || !-f _) { print "@@ $i missing\\n"; $i++; next; }',
  '  my ($size, $ino) = ($st[7], $st[1]);',
  '  my $start = $size < $off ? 0 : $off;',
  '  my $n = $size - $start; $n = $max if $n > $max;',
  "  my $ck = '-';",
  "  if ($save ne '') { for my $d (glob(quotemeta($save) . '/global_step*')) { if (-d $d) { ($ck) = $d =~ m{([^/]+)$}; last; } } }",
  "  my $buf = '';",
  "  if ($n > 0 && open(my $fh, '<:raw', $f)) { seek($fh, $start, 0); read($fh, $buf, $n); close $fh; }",
  '  $n = length($buf);',
  '  print "@@ $i $size $ino $start $n $ck\\n", encode_base64($buf, ""), "\\n";',
  '  $i++;',
  '}',
].join(' ');

interface Pending {
  readonly req: LogReadRequest;
  resolve(r: LogRead): void;
  reject(e: unknown): void;
}

export class LogReadBatcher {
  private pending: Pending[] = [];
  /** Falls back to the sh script (and stays there) on a cluster without perl. */
  private perl = true;
  private timer: NodeJS.Timeout | null = null;
  readonly stats = { calls: 0, reads: 0 };

  constructor(
    private readonly transport: Transport,
    private readonly opts: {
      readonly windowMs?: number;
      readonly maxBatch?: number;
      readonly maxBytesPerFile?: number;
      /** 'sh' skips perl (tests of the fallback). */
      readonly interpreter?: 'perl' | 'sh';
    } = {},
  ) {
    this.perl = opts.interpreter !== 'sh';
  }

  read(req: LogReadRequest): Promise<LogRead> {
    return new Promise<LogRead>((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (this.pending.length >= (this.opts.maxBatch ?? 200)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs ?? 20);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) void this.run(batch);
  }

  private async run(batch: Pending[]): Promise<void> {
    const max = Math.min(...batch.map((p) => p.req.maxBytes ?? this.opts.maxBytesPerFile ?? 256 * 1024));
    const operands: string[] = [String(max)];
    for (const p of batch) operands.push(p.req.file, String(p.req.offset), p.req.save ?? '');
    this.stats.calls += 1;
    this.stats.reads += batch.length;
    const opts = { maxOutputBytes: Math.ceil((max * 4) / 3) * batch.length + 256 * batch.length + 4096 };
    try {
      let r = this.perl
        ? await this.transport.run(['perl', '-e', BATCH_PERL, ...operands], opts).catch(() => null)
        : null;
      if (r === null || r.exitCode === 127) {
        this.perl = false;
        r = await this.transport.run(['sh', '-c', BATCH_SCRIPT, 'sh', ...operands], opts);
      }
      if (r.exitCode !== 0) {
        throw new ClusterError(`reading ${batch.length} logs failed: ${trimStderr(r.stderr)}`, {
          exitCode: r.exitCode,
          stderr: r.stderr,
        });
      }
      const results = parseBatch(r.stdout, batch.length);
      batch.forEach((p, i) => {
        const res = results[i];
        if (res) p.resolve(res);
        else p.reject(new ClusterError(`no answer for ${p.req.file} in the batched read`));
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}

export function parseBatch(stdout: string, count: number): (LogRead | undefined)[] {
  const out: (LogRead | undefined)[] = new Array(count);
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const missing = /^@@ (\d+) missing$/.exec(line);
    if (missing) {
      out[Number(missing[1])] = { status: 'missing' };
      continue;
    }
    const m = /^@@ (\d+) (\d+) (\d+) (\d+) (\d+) (\S+)$/.exec(line);
    if (!m) continue;
    const bytes = Number(m[5]);
    const body = lines[i + 1] ?? '';
    i += 1;
    const buf = bytes > 0 ? Buffer.from(body, 'base64') : Buffer.alloc(0);
    if (buf.length !== bytes) continue; // a cut answer: leave it unanswered rather than guess
    out[Number(m[1])] = {
      status: 'ok',
      size: Number(m[2]),
      inode: m[3] ?? '',
      start: Number(m[4]),
      bytes,
      text: buf.toString('utf8'),
      checkpoint: m[6] === '-' ? null : (m[6] ?? null),
    };
  }
  return out;
}
