// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are sh scripts; ${…} is shell parameter expansion
import type { Transport } from '../cluster/transport.js';
import { ClusterError, trimStderr } from '../errors.js';
import type { LogRead } from './log-reader.js';

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

interface Pending {
  readonly req: LogReadRequest;
  resolve(r: LogRead): void;
  reject(e: unknown): void;
}

export class LogReadBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  readonly stats = { calls: 0, reads: 0 };

  constructor(
    private readonly transport: Transport,
    private readonly opts: {
      readonly windowMs?: number;
      readonly maxBatch?: number;
      readonly maxBytesPerFile?: number;
    } = {},
  ) {}

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
    const argv = ['sh', '-c', BATCH_SCRIPT, 'sh', String(max)];
    for (const p of batch) argv.push(p.req.file, String(p.req.offset), p.req.save ?? '');
    this.stats.calls += 1;
    this.stats.reads += batch.length;
    try {
      const r = await this.transport.run(argv, {
        maxOutputBytes: Math.ceil((max * 4) / 3) * batch.length + 256 * batch.length + 4096,
      });
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
