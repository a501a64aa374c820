import { readFile } from 'node:fs/promises';
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { ClusterError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import { assertNoControlChars, quoteArg, quoteArgv, quoteTrusted } from '../quote.js';
import { assertOperands, type RemoteScript, scriptAuditArgv } from '../remote-script.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type PathStat,
  type RunOptions,
  type RunResult,
  type Transport,
} from '../transport.js';
import { knownHostName, normalizeFingerprint, parseKnownHosts, sha256Fingerprint } from './known-hosts.js';
import { STAT_AGENT_ARGV, StatAgent } from './stat-agent.js';

export interface SshTransportOptions {
  readonly host: string;
  readonly port?: number;
  readonly username: string;
  /** The private key itself, or a path to read it from (one of the two). */
  readonly privateKey?: Buffer;
  readonly keyPath?: string;
  /** Pin the host key with a known_hosts file or a `SHA256:` fingerprint (one of the two). */
  readonly knownHostsPath?: string;
  readonly fingerprint?: string;
  /** Concurrent channels on the one connection; keep below the server's MaxSessions (OpenSSH: 10). */
  readonly maxChannels?: number;
  readonly keepaliveMs?: number;
  readonly connectTimeoutMs?: number;
  /** Reconnect backoff: first retry after this, doubling up to maxBackoffMs. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly logger?: Logger;
}

interface Job {
  readonly argv: readonly string[];
  readonly command: string;
  readonly input: string | undefined;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly resolve: (r: RunResult) => void;
  readonly reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  /** Set once a channel is open: kills the remote command and fails the job. */
  abort?: (err: ClusterError) => void;
  done: boolean;
}

/** A connect failure that retrying cannot fix (wrong host key, rejected credentials). */
class FatalConnectError extends ClusterError {}

const silent: Logger = silentLogger();

// ssh2 can only send a `signal` request while our side of the channel is still open for writing, but we
// half-close stdin right after exec so commands that read it see EOF. The request itself is valid on a
// half-closed channel (RFC 4254 §6.9), so reach the protocol directly. sshd refuses it for root logins
// (no privilege separation), which is why #killRemote exists; the timeout test covers both paths.
interface ChannelInternals {
  readonly outgoing?: { readonly id: number; readonly state: string };
  readonly _client?: { readonly _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Runs commands over ONE pooled ssh2 connection: channels capped below MaxSessions (rest queued FIFO),
 * keepalive, reconnect with backoff, pinned host key. A command in flight when the connection drops fails
 * (it may or may not have run); commands still queued run after the reconnect.
 */
export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly #o: Required<
    Omit<SshTransportOptions, 'privateKey' | 'keyPath' | 'knownHostsPath' | 'fingerprint'>
  > &
    Pick<SshTransportOptions, 'privateKey' | 'keyPath' | 'knownHostsPath' | 'fingerprint'>;
  readonly #queue: Job[] = [];
  readonly #inFlight = new Set<Job>();
  #client: Client | undefined;
  #connecting = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #active = 0;
  #closed = false;
  readonly #pendingKills = new Set<number>();
  #killing = false;
  #pumpTimer: NodeJS.Timeout | undefined;
  /** The stat agent kept running on the connection for statPaths; it holds one of the channel slots. */
  #agent: { client: Client; agent: Promise<StatAgent | null>; release: () => void } | undefined;
  /** A connection where the agent could not start (no perl): statPaths answers null without asking again. */
  readonly #noAgent = new WeakSet<Client>();

  constructor(opts: SshTransportOptions) {
    if (!opts.privateKey && !opts.keyPath) throw new Error('SshTransport: privateKey or keyPath is required');
    if (!opts.knownHostsPath && !opts.fingerprint) {
      throw new Error(
        'SshTransport: knownHostsPath or fingerprint is required (the host key must be pinned)',
      );
    }
    if (opts.maxChannels !== undefined && !(Number.isInteger(opts.maxChannels) && opts.maxChannels >= 1)) {
      throw new Error('SshTransport: maxChannels must be a whole number ≥ 1 (and below sshd MaxSessions)');
    }
    this.#o = {
      ...opts,
      port: opts.port ?? 22,
      maxChannels: opts.maxChannels ?? 8,
      keepaliveMs: opts.keepaliveMs ?? 15_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      minBackoffMs: opts.minBackoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      logger: opts.logger ?? silent,
    };
  }

  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    let command: string;
    try {
      // Quoting validates too (control characters → UserError), before anything is queued or sent. The
      // constant prefix reports the remote process group so a timeout can kill it (sshd ignores signals).
      command = `${PID_MARKER_PREFIX}${quoteArgv(argv)}`;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(argv, command, opts);
  }

  runScript(script: RemoteScript, operands: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    let command: string;
    try {
      assertOperands(operands);
      command = `${PID_MARKER_PREFIX}${scriptCommand(script, operands)}`;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(scriptAuditArgv(script, operands), command, opts);
  }

  #enqueue(argv: readonly string[], command: string, opts: RunOptions): Promise<RunResult> {
    if (this.#closed) return Promise.reject(new ClusterError('SSH transport is closed', { argv }));
    return new Promise<RunResult>((resolve, reject) => {
      const job: Job = {
        argv,
        command,
        input: opts.input,
        timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBytes: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        resolve,
        reject,
        done: false,
      };
      // The timeout covers queueing and (re)connecting too: a caller never waits longer than it asked.
      job.timer = setTimeout(() => this.#onTimeout(job), job.timeoutMs);
      this.#queue.push(job);
      this.#pump();
    });
  }

  /**
   * stat() through a perl loop kept running on the connection (stat-agent.ts): no process starts per call,
   * so a sweep's quick check costs one small round trip instead of a remote shell. null where the cluster
   * has no perl, or whenever the agent cannot answer: callers then run a command instead.
   */
  async statPaths(
    paths: readonly string[],
    opts: { readonly timeoutMs?: number } = {},
  ): Promise<(PathStat | null)[] | null> {
    const client = this.#client;
    // Not connected: run() is the one that connects (with backoff); stat is only ever a shortcut.
    if (this.#closed || !client || this.#noAgent.has(client) || paths.length === 0) return null;
    try {
      for (const p of paths) {
        assertNoControlChars(p);
        if (p === '') return null;
      }
    } catch {
      return null;
    }
    const agent = await this.#agentFor(client);
    if (!agent) return null;
    const r = await agent.stat(paths, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (r === null && !agent.answered) {
      this.#noAgent.add(client);
      this.#o.logger.info({ target: this.#target() }, 'no perl on the cluster: stats go by command');
    }
    return r;
  }

  #agentFor(client: Client): Promise<StatAgent | null> {
    if (this.#agent?.client === client) return this.#agent.agent;
    this.#dropAgent(this.#agent?.client);
    // Never wait for a slot: with every channel busy, the caller's command fallback queues like any other.
    if (this.#active >= this.#o.maxChannels) return Promise.resolve(null);
    this.#active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#active--;
      if (this.#agent?.release === release) this.#agent = undefined;
      this.#pump();
    };
    const agent = new Promise<StatAgent | null>((resolve) => {
      try {
        client.exec(quoteArgv(STAT_AGENT_ARGV), (err, channel) => {
          if (err) {
            release();
            resolve(null);
            return;
          }
          resolve(new StatAgent(channel, release));
        });
      } catch {
        release();
        resolve(null);
      }
    });
    this.#agent = { client, agent, release };
    return agent;
  }

  #dropAgent(client: Client | undefined): void {
    const a = this.#agent;
    if (!a || a.client !== client) return;
    this.#agent = undefined;
    a.release();
    void a.agent.then((x) => x?.close());
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#dropAgent(this.#client);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#pumpTimer);
    const err = new ClusterError('SSH transport closed');
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    for (const job of [...this.#inFlight]) job.abort?.(err);
    const client = this.#client;
    // Let the `kill` for commands aborted above reach the server before the connection goes.
    for (let waited = 0; this.#killing && waited < 2000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#client = undefined;
    if (client) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        client.end();
      });
    }
  }

  #settle(job: Job, result: RunResult | Error): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.timer);
    if (result instanceof Error) job.reject(result);
    else job.resolve(result);
  }

  #onTimeout(job: Job): void {
    const err = new ClusterError(`${job.argv[0]} timed out after ${job.timeoutMs} ms and was killed`, {
      argv: job.argv,
      exitCode: null,
      timedOut: true,
    });
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#settle(
        job,
        new ClusterError(
          `${job.argv[0]} did not start within ${job.timeoutMs} ms (${this.#connecting ? `could not connect to ${this.#target()}` : 'all SSH channels busy'})`,
          { argv: job.argv, exitCode: null, timedOut: true },
        ),
      );
    } else if (job.abort) job.abort(err);
    else this.#settle(job, err);
  }

  #pump(): void {
    if (this.#closed) return;
    while (this.#queue.length > 0 && this.#active < this.#o.maxChannels) {
      const client = this.#client;
      if (!client) {
        this.#connect();
        return;
      }
      const job = this.#queue.shift();
      if (job) this.#exec(client, job);
    }
  }

  #pumpSoon(): void {
    if (this.#pumpTimer) return;
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = undefined;
      this.#pump();
    }, 20);
  }

  #target(): string {
    return `${this.#o.username}@${this.#o.host}:${this.#o.port}`;
  }

  #connect(): void {
    if (this.#connecting || this.#retryTimer || this.#closed) return;
    this.#connecting = true;
    this.#openConnection().then(
      (client) => {
        this.#connecting = false;
        if (this.#closed) {
          client.end();
          return;
        }
        if (this.#attempt > 0) this.#o.logger.info({ target: this.#target() }, 'SSH reconnected');
        this.#attempt = 0;
        this.#client = client;
        this.#pump();
      },
      (err: unknown) => {
        this.#connecting = false;
        const error =
          err instanceof ClusterError
            ? err
            : new ClusterError(`cannot connect to ${this.#target()}: ${(err as Error).message}`);
        if (err instanceof FatalConnectError) {
          // Retrying would only hammer the server with the same wrong key/credentials.
          this.#o.logger.warn({ target: this.#target(), err: error.message }, 'SSH connect refused');
          for (const job of this.#queue.splice(0)) this.#settle(job, error);
          return;
        }
        if (this.#queue.length === 0) return;
        const delay = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** this.#attempt);
        this.#attempt++;
        this.#o.logger.warn(
          { target: this.#target(), err: error.message, retryInMs: delay, attempt: this.#attempt },
          'SSH connect failed; retrying',
        );
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#pump();
        }, delay);
      },
    );
  }

  async #openConnection(): Promise<Client> {
    const o = this.#o;
    let privateKey: Buffer;
    try {
      privateKey = o.privateKey ?? (await readFile(o.keyPath ?? ''));
    } catch (e) {
      throw new FatalConnectError(`cannot read SSH key ${o.keyPath}: ${(e as Error).message}`);
    }
    const pin = await this.#pinnedKeys();
    let mismatch: FatalConnectError | undefined;
    const client = new Client();
    const config: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.username,
      privateKey,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: 3,
      ...(pin.algorithms ? { algorithms: { serverHostKey: pin.algorithms } } : {}),
      hostVerifier: (key: Buffer) => {
        const presented = sha256Fingerprint(key);
        if (pin.revoked.includes(presented)) {
          mismatch = new FatalConnectError(
            `host key of ${this.#target()} (${presented}) is marked @revoked in ${o.knownHostsPath}; refusing to connect`,
          );
          return false;
        }
        if (pin.allowed.includes(presented)) return true;
        mismatch = new FatalConnectError(
          `HOST KEY MISMATCH for ${this.#target()}: expected ${pin.allowed.join(' or ')} (${pin.source}), ` +
            `but the server presented ${presented}. Refusing to connect: the host may be impersonated, or its ` +
            'key changed — verify it out of band before updating the pin.',
        );
        return false;
      },
    };
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) {
          o.logger.warn({ target: this.#target(), err: err.message }, 'SSH connection error');
          return;
        }
        if (mismatch) reject(mismatch);
        else if (err.level === 'client-authentication') {
          reject(new FatalConnectError(`SSH authentication as ${o.username} to ${this.#target()} failed`));
        } else reject(new ClusterError(`cannot connect to ${this.#target()}: ${err.message}`));
      });
      client.on('close', () => {
        if (!ready) {
          reject(mismatch ?? new ClusterError(`connection to ${this.#target()} closed during handshake`));
          return;
        }
        this.#onDrop(client);
      });
      try {
        client.connect(config);
      } catch (e) {
        // ssh2 throws synchronously on a key it cannot parse (or one that needs a passphrase).
        reject(
          new FatalConnectError(`cannot use SSH key ${o.keyPath ?? '(given)'}: ${(e as Error).message}`),
        );
        return;
      }
      // Small request/response packets: Nagle would add delayed-ACK stalls to every exec.
      client.setNoDelay(true);
    });
  }

  async #pinnedKeys(): Promise<{
    allowed: string[];
    revoked: string[];
    source: string;
    algorithms?: ServerHostKeyAlgorithm[];
  }> {
    const o = this.#o;
    if (o.fingerprint) {
      return {
        allowed: [normalizeFingerprint(o.fingerprint)],
        revoked: [],
        source: 'configured fingerprint',
      };
    }
    const path = o.knownHostsPath ?? '';
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new FatalConnectError(`cannot read known_hosts file ${path}: ${(e as Error).message}`);
    }
    const keys = parseKnownHosts(text, o.host, o.port);
    const allowed = keys.filter((k) => !k.revoked);
    if (allowed.length === 0) {
      throw new FatalConnectError(
        `no host key for ${knownHostName(o.host, o.port)} in ${path}; refusing to connect to an unknown host ` +
          `(add its key after verifying it, e.g. from ssh-keyscan -p ${o.port} ${o.host} checked against the server's fingerprint)`,
      );
    }
    // Ask the server for the key types we have pinned, as OpenSSH does; otherwise it may present another
    // of its keys and we would report a false mismatch.
    const algorithms = [...new Set(allowed.flatMap((k) => hostKeyAlgorithms(k.keyType)))];
    if (algorithms.length === 0) {
      throw new FatalConnectError(
        `the host keys pinned for ${knownHostName(o.host, o.port)} in ${path} are of types this client cannot verify (${allowed.map((k) => k.keyType).join(', ')})`,
      );
    }
    return {
      allowed: allowed.map((k) => k.fingerprint),
      revoked: keys.filter((k) => k.revoked).map((k) => k.fingerprint),
      source: `known_hosts ${path}`,
      algorithms,
    };
  }

  #onDrop(client: Client): void {
    if (this.#client === client) this.#client = undefined;
    this.#dropAgent(client);
    const lost = [...this.#inFlight];
    if (lost.length > 0 || !this.#closed) {
      this.#o.logger.warn(
        { target: this.#target(), inFlight: lost.length, queued: this.#queue.length },
        'SSH connection lost',
      );
    }
    for (const job of lost) {
      job.abort?.(
        new ClusterError(
          `connection to ${this.#target()} was lost while ${job.argv[0]} was running; it may or may not have completed`,
          { argv: job.argv, exitCode: null },
        ),
      );
    }
    this.#pump();
  }

  #exec(client: Client, job: Job): void {
    this.#active++;
    this.#inFlight.add(job);
    let released = false;
    const release = (pump = true) => {
      if (released) return;
      released = true;
      this.#active--;
      this.#inFlight.delete(job);
      if (pump) this.#pump();
    };
    let channel: ClientChannel | undefined;
    let remotePid: number | undefined;
    let exited = false;
    let killWanted = false;
    const kill = () => {
      killWanted = true;
      const ch = channel;
      if (!ch) return;
      sendKillSignal(ch);
      if (exited) ch.close();
      else if (remotePid !== undefined) {
        this.#killRemote(client, remotePid);
        ch.close();
      } else {
        // The process group id has not arrived yet; the stderr handler kills and closes once it does.
        setTimeout(() => ch.close(), 2000).unref();
      }
    };
    job.abort = (err) => {
      this.#settle(job, err);
      kill();
      // With the connection gone no close will arrive for this channel.
      if (!channel || this.#client !== client) release();
    };
    try {
      client.exec(job.command, (err, stream) => {
        if (err) {
          release(false);
          if (!job.done && this.#active > 0 && this.#client === client) {
            // sshd frees a closed session only on its next main-loop pass, so right after our CLOSE a
            // new channel can be refused as over MaxSessions. Nothing ran: queue it again, first in line.
            job.abort = undefined;
            this.#queue.unshift(job);
            this.#pumpSoon();
            return;
          }
          this.#settle(
            job,
            new ClusterError(`cannot start ${job.argv[0]}: ${err.message}`, { argv: job.argv }),
          );
          this.#pump();
          return;
        }
        channel = stream;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let pidLine: Buffer | undefined = Buffer.alloc(0);
        let bytes = 0;
        let exitCode: number | null = null;
        let exitSignal: string | undefined;
        const count = (chunk: Buffer, into: Buffer[]) => {
          bytes += chunk.length;
          if (job.done) return;
          if (bytes > job.maxBytes) {
            job.abort?.(
              new ClusterError(
                `${job.argv[0]} produced more than ${job.maxBytes} bytes of output and was killed`,
                { argv: job.argv, exitCode: null },
              ),
            );
            return;
          }
          into.push(chunk);
        };
        stream.on('data', (c: Buffer) => count(c, out));
        stream.stderr.on('data', (c: Buffer) => {
          if (pidLine === undefined) {
            count(c, errOut);
            return;
          }
          // The wrapper's first stderr line is the session's process group id, not command output.
          const all = Buffer.concat([pidLine, c]);
          const nl = all.indexOf(0x0a);
          if (nl < 0) {
            pidLine = all;
            return;
          }
          const text = all.subarray(0, nl).toString('latin1');
          pidLine = undefined;
          if (/^[1-9][0-9]{0,9}$/.test(text) && Number(text) > 1) remotePid = Number(text);
          if (killWanted && remotePid !== undefined && !exited) {
            this.#killRemote(client, remotePid);
            stream.close();
          }
          const rest = all.subarray(nl + 1);
          if (rest.length > 0) count(rest, errOut);
        });
        stream.on('exit', (code: number | null, signal?: string) => {
          exited = true;
          exitCode = code;
          exitSignal = signal ?? undefined;
        });
        stream.on('error', () => {});
        stream.on('close', () => {
          const stdout = Buffer.concat(out).toString('utf8');
          const stderr = Buffer.concat(errOut).toString('utf8');
          if (typeof exitCode === 'number') this.#settle(job, { stdout, stderr, exitCode });
          else {
            this.#settle(
              job,
              new ClusterError(
                exitSignal
                  ? `${job.argv[0]} was killed by SIG${exitSignal} on ${this.#o.host}`
                  : `${job.argv[0]} ended without an exit status (connection to ${this.#o.host} lost?)`,
                { argv: job.argv, exitCode: null, stderr },
              ),
            );
          }
          release();
        });
        stream.end(job.input);
        // Timed out or aborted while the channel was opening.
        if (killWanted) kill();
      });
    } catch (e) {
      // ssh2 throws synchronously when the socket is already gone.
      this.#settle(
        job,
        new ClusterError(`cannot start ${job.argv[0]}: ${(e as Error).message}`, { argv: job.argv }),
      );
      release();
    }
  }

  /**
   * Kill a remote process group with a separate `kill` exec. Needed because sshd ignores `signal` requests
   * in sessions it runs without privilege separation (root logins), and closing a non-pty channel does not
   * stop the command. Runs outside the channel cap (which stays below MaxSessions to leave room for it),
   * one at a time, batching whatever piles up meanwhile.
   */
  #killRemote(client: Client, pid: number): void {
    this.#pendingKills.add(pid);
    this.#flushKills(client);
  }

  #flushKills(client: Client): void {
    if (this.#killing || this.#pendingKills.size === 0 || this.#client !== client) return;
    const pids = [...this.#pendingKills];
    this.#pendingKills.clear();
    this.#killing = true;
    const done = () => {
      this.#killing = false;
      this.#flushKills(client);
    };
    const cmd = quoteArgv(['kill', '-KILL', '--', ...pids.map((p) => `-${p}`)]);
    try {
      client.exec(cmd, (err, stream) => {
        if (err) {
          this.#o.logger.warn({ pids, err: err.message }, 'could not kill timed-out remote commands');
          done();
          return;
        }
        stream.on('data', () => {});
        stream.stderr.on('data', () => {});
        stream.on('close', done);
        stream.end();
      });
    } catch {
      done();
    }
  }
}

/**
 * The remote command line for a script: its helper programs as `env NAME=BODY`, then `sh -c BODY NAME
 * OPERANDS…` or `perl -e BODY -- OPERANDS…`. Bodies are trusted files, quoted whole; operands are
 * validated and quoted like any argv.
 */
function scriptCommand(script: RemoteScript, operands: readonly string[]): string {
  const env = Object.entries(script.env ?? {}).map(([k, v]) => quoteTrusted(`${k}=${v}`));
  const run =
    script.interpreter === 'sh'
      ? ['sh', '-c', quoteTrusted(script.body), quoteArg(script.name), ...operands.map(quoteArg)]
      : ['perl', '-e', quoteTrusted(script.body), '--', ...operands.map(quoteArg)];
  return [...(env.length > 0 ? ['env', ...env] : []), ...run].join(' ');
}

// `$$` of the remote shell is the session's process group id (sshd runs each session under setsid), and
// `exec` keeps it so: killing that group takes the command and everything it started.
const PID_MARKER_PREFIX = 'echo $$ >&2; exec ';

/** Ask sshd to SIGKILL the session's process group (honoured for non-root logins on OpenSSH ≥ 7.9). */
function sendKillSignal(ch: ClientChannel): void {
  const internals = ch as unknown as ChannelInternals;
  const out = internals.outgoing;
  if (out && (out.state === 'open' || out.state === 'eof')) {
    internals._client?._protocol?.signal(out.id, 'KILL');
  }
}

const SUPPORTED_HOST_KEY_TYPES: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
];

function hostKeyAlgorithms(keyType: string): ServerHostKeyAlgorithm[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return SUPPORTED_HOST_KEY_TYPES.filter((t) => t === keyType);
}
