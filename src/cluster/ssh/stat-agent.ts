import type { ClientChannel } from 'ssh2';
import type { PathStat } from '../transport.js';

/**
 * A perl loop kept running on the cluster: it reads paths (one per line, an empty line ends a request) and
 * answers "size mtime" per path, "-" for one that does not exist, "?" for any other error, then ".".
 * One process for the life of the connection, so a stat costs one small round trip instead of a remote
 * shell. Sub-second mtimes need Time::HiRes (shipped with perl; a perl-base-only host lacks it): without
 * it the agent does not start, and callers fall back to a command. It exits when its stdin closes.
 */
export const STAT_AGENT_ARGV: readonly string[] = [
  'perl',
  '-e',
  'use Time::HiRes qw(stat); $|=1; my @p; while(my $l=<STDIN>){ chomp $l; if(length $l){ push @p,$l; next } ' +
    'my $o=""; for my $f (@p){ my @s=stat($f); ' +
    '$o.=@s ? sprintf("%d %.9f\\n",$s[7],$s[9]) : ($!{ENOENT} || $!{ENOTDIR}) ? "-\\n" : "?\\n" } ' +
    'print $o.".\\n"; @p=() }',
];

const LINE = /^(\d+) (\d+(?:\.\d+)?)$/;

/** Parse one complete reply (without its final ".\n"); null when it is not an answer for `n` paths. */
export function parseStatReply(body: string, n: number): (PathStat | null)[] | null {
  const lines = body === '' ? [] : body.replace(/\n$/, '').split('\n');
  if (lines.length !== n) return null;
  const out: (PathStat | null)[] = [];
  for (const l of lines) {
    if (l === '-') {
      out.push(null);
      continue;
    }
    const m = LINE.exec(l);
    if (!m) return null;
    out.push({ size: Number(m[1]), mtime: Number(m[2]) });
  }
  return out;
}

/** One request at a time over the agent's channel; any failure answers null (callers fall back). */
export class StatAgent {
  #buf = '';
  #pending: ((r: (PathStat | null)[] | null) => void) | undefined;
  #n = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Whether it ever answered: a channel that closes before that is a cluster without perl. */
  answered = false;

  constructor(
    private readonly channel: ClientChannel,
    onClose: () => void,
  ) {
    channel.on('data', (c: Buffer) => this.#onData(c));
    channel.stderr.on('data', () => {});
    channel.on('error', () => {});
    channel.on('close', () => {
      this.#closed = true;
      this.#settle(null);
      onClose();
    });
  }

  stat(paths: readonly string[], timeoutMs: number): Promise<(PathStat | null)[] | null> {
    const ask = () =>
      new Promise<(PathStat | null)[] | null>((resolve) => {
        if (this.#closed) {
          resolve(null);
          return;
        }
        // A late or lost answer would put every later reply out of step: on timeout the agent goes.
        const timer = setTimeout(() => this.close(), timeoutMs);
        this.#pending = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        this.#n = paths.length;
        this.#buf = '';
        this.channel.write(`${paths.join('\n')}\n\n`);
      });
    const next = this.#chain.then(ask, ask);
    this.#chain = next;
    return next;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settle(null);
    try {
      this.channel.close();
    } catch {
      // the connection is already gone, and the channel with it
    }
  }

  #settle(r: (PathStat | null)[] | null): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.(r);
  }

  #onData(c: Buffer): void {
    this.#buf += c.toString('latin1');
    if (!this.#pending) return;
    if (this.#buf !== '.\n' && !this.#buf.endsWith('\n.\n')) return;
    const body = this.#buf.slice(0, -2);
    this.#buf = '';
    const reply = parseStatReply(body, this.#n);
    // A "?" (say, permission denied) is an answer that cannot help: null, and the agent stays. A reply we
    // cannot read at all means we no longer know where the next one starts: the agent goes.
    if (reply === null && !/(^|\n)\?(\n|$)/.test(body)) {
      this.close();
      return;
    }
    this.answered = true;
    this.#settle(reply);
  }
}
