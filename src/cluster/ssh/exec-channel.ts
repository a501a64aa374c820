import type { Client, ClientChannel } from 'ssh2';
import { ClusterError } from '../../errors.js';
import type { RunResult } from '../transport.js';

/**
 * Put in front of every command: `$$` of the remote shell is the session's process group id (sshd runs
 * each session under setsid), and `exec` keeps it so. The first stderr line is that id, which is what
 * lets a timeout kill the command and everything it started (sshd may ignore signal requests).
 */
export const PID_MARKER_PREFIX = 'echo $$ >&2; exec ';

/** One command to run on a channel of its own. */
export interface ChannelJob {
  readonly argv: readonly string[];
  /** The remote command line, starting with PID_MARKER_PREFIX. */
  readonly command: string;
  readonly input: string | undefined;
  /** Cap on stdout+stderr kept; beyond it the command is killed. */
  readonly maxBytes: number;
  readonly done: boolean;
  settle(result: RunResult | Error): void;
  /** Set while a channel is opening or open: fails the job and kills the remote command. */
  abort?: ((err: ClusterError) => void) | undefined;
}

export interface ChannelHooks {
  /** Named in "killed by SIG…" messages. */
  readonly host: string;
  /** Whether `client` is still the pooled connection (a dropped one will not report a channel close). */
  isCurrent(client: Client): boolean;
  /** sshd refused the channel: true when the job was put back in line instead (nothing ran). */
  retry(err: Error): boolean;
  killRemote(pid: number): void;
  /** The channel is gone or never opened: its slot is free. Called once. */
  released(): void;
}

// ssh2 can only send a `signal` request while our side of the channel is still open for writing, but we
// half-close stdin right after exec so commands that read it see EOF. The request itself is valid on a
// half-closed channel (RFC 4254 §6.9), so reach the protocol directly. sshd refuses it for root logins
// (no privilege separation), which is why RemoteKill exists; the timeout test covers both paths.
interface ChannelInternals {
  readonly outgoing?: { readonly id: number; readonly state: string };
  readonly _client?: { readonly _protocol?: { signal(id: number, name: string): void } };
}

/** Run one job on a new channel of `client`: output cap, pid marker, exit status, kill on abort. */
export function execOnChannel(client: Client, job: ChannelJob, hooks: ChannelHooks): void {
  new ExecChannel(client, job, hooks).start();
}

class ExecChannel {
  #channel: ClientChannel | undefined;
  #remotePid: number | undefined;
  #exited = false;
  #killWanted = false;
  #released = false;
  readonly #out: Buffer[] = [];
  readonly #errOut: Buffer[] = [];
  /** Stderr until the pid marker's newline; undefined once the marker is read. */
  #pidLine: Buffer | undefined = Buffer.alloc(0);
  #bytes = 0;
  #exitCode: number | null = null;
  #exitSignal: string | undefined;

  constructor(
    private readonly client: Client,
    private readonly job: ChannelJob,
    private readonly hooks: ChannelHooks,
  ) {}

  start(): void {
    const { job, client } = this;
    job.abort = (err) => {
      job.settle(err);
      this.#kill();
      // With the connection gone no close will arrive for this channel.
      if (!this.#channel || !this.hooks.isCurrent(client)) this.#release();
    };
    try {
      client.exec(job.command, (err, stream) => {
        if (err) this.#onRefused(err);
        else this.#onOpen(stream);
      });
    } catch (e) {
      // ssh2 throws synchronously when the socket is already gone.
      job.settle(
        new ClusterError(`cannot start ${job.argv[0]}: ${(e as Error).message}`, { argv: job.argv }),
      );
      this.#release();
    }
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.hooks.released();
  }

  #onRefused(err: Error): void {
    const { job } = this;
    // sshd frees a closed session only on its next main-loop pass, so right after our CLOSE a new channel
    // can be refused as over MaxSessions. The transport may put the job back in line: nothing ran.
    if (!this.#released && !job.done && this.hooks.retry(err)) return;
    job.settle(new ClusterError(`cannot start ${job.argv[0]}: ${err.message}`, { argv: job.argv }));
    this.#release();
  }

  #kill(): void {
    this.#killWanted = true;
    const ch = this.#channel;
    if (!ch) return;
    sendKillSignal(ch);
    if (this.#exited) ch.close();
    else if (this.#remotePid !== undefined) {
      this.hooks.killRemote(this.#remotePid);
      ch.close();
    } else {
      // The process group id has not arrived yet; the stderr handler kills and closes once it does.
      setTimeout(() => ch.close(), 2000).unref();
    }
  }

  #onOpen(stream: ClientChannel): void {
    this.#channel = stream;
    stream.on('data', (c: Buffer) => this.#count(c, this.#out));
    stream.stderr.on('data', (c: Buffer) => this.#onStderr(stream, c));
    stream.on('exit', (code: number | null, signal?: string) => {
      this.#exited = true;
      this.#exitCode = code;
      this.#exitSignal = signal ?? undefined;
    });
    stream.on('error', () => {});
    stream.on('close', () => this.#onClose());
    stream.end(this.job.input);
    // Timed out or aborted while the channel was opening.
    if (this.#killWanted) this.#kill();
  }

  #count(chunk: Buffer, into: Buffer[]): void {
    const { job } = this;
    this.#bytes += chunk.length;
    if (job.done) return;
    if (this.#bytes > job.maxBytes) {
      job.abort?.(
        new ClusterError(`${job.argv[0]} produced more than ${job.maxBytes} bytes of output and was killed`, {
          argv: job.argv,
          exitCode: null,
        }),
      );
      return;
    }
    into.push(chunk);
  }

  #onStderr(stream: ClientChannel, c: Buffer): void {
    if (this.#pidLine === undefined) {
      this.#count(c, this.#errOut);
      return;
    }
    // The wrapper's first stderr line is the session's process group id, not command output.
    const all = Buffer.concat([this.#pidLine, c]);
    const nl = all.indexOf(0x0a);
    if (nl < 0) {
      this.#pidLine = all;
      return;
    }
    const text = all.subarray(0, nl).toString('latin1');
    this.#pidLine = undefined;
    if (/^[1-9][0-9]{0,9}$/.test(text) && Number(text) > 1) this.#remotePid = Number(text);
    if (this.#killWanted && this.#remotePid !== undefined && !this.#exited) {
      this.hooks.killRemote(this.#remotePid);
      stream.close();
    }
    const rest = all.subarray(nl + 1);
    if (rest.length > 0) this.#count(rest, this.#errOut);
  }

  #onClose(): void {
    const { job } = this;
    const stdout = Buffer.concat(this.#out).toString('utf8');
    const stderr = Buffer.concat(this.#errOut).toString('utf8');
    if (typeof this.#exitCode === 'number') job.settle({ stdout, stderr, exitCode: this.#exitCode });
    else {
      job.settle(
        new ClusterError(
          this.#exitSignal
            ? `${job.argv[0]} was killed by SIG${this.#exitSignal} on ${this.hooks.host}`
            : `${job.argv[0]} ended without an exit status (connection to ${this.hooks.host} lost?)`,
          { argv: job.argv, exitCode: null, stderr },
        ),
      );
    }
    this.#release();
  }
}

/** Ask sshd to SIGKILL the session's process group (honoured for non-root logins on OpenSSH ≥ 7.9). */
function sendKillSignal(ch: ClientChannel): void {
  const internals = ch as unknown as ChannelInternals;
  const out = internals.outgoing;
  if (out && (out.state === 'open' || out.state === 'eof')) {
    internals._client?._protocol?.signal(out.id, 'KILL');
  }
}
