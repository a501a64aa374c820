import { ClusterError, trimStderr } from '../errors.js';
import type { LogRead, LogReadRequest } from './log-files.js';
import { loadRemoteScript } from './remote-script.js';
import type { RunResult, Transport } from './transport.js';

// Every watch reads its log right after the same squeue tick; this gathers those reads into ONE remote
// command per poll instead of one SSH exec per log. Each chunk comes back base64-encoded so the byte
// counts stay exact whatever the log contains. remote/read-logs.pl does it in one process; where the
// cluster has no perl, remote/read-logs.sh (same operands, same output).

const READ_LOGS_PL = loadRemoteScript('read-logs.pl');
const READ_LOGS_SH = loadRemoteScript('read-logs.sh');

export interface LogReadBatcherOptions {
  /** How long the first read of a batch waits for others. */
  readonly windowMs?: number;
  readonly maxBatch?: number;
  readonly maxBytesPerFile?: number;
  /** 'sh' skips perl (tests of the fallback). */
  readonly interpreter?: 'perl' | 'sh';
}

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
    private readonly opts: LogReadBatcherOptions = {},
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
      let r: RunResult | null = this.perl
        ? await this.transport.runScript(READ_LOGS_PL, operands, opts).catch(() => null)
        : null;
      if (r === null || r.exitCode === 127) {
        this.perl = false;
        r = await this.transport.runScript(READ_LOGS_SH, operands, opts);
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
