import type { Client } from 'ssh2';
import { ClusterError } from '../../errors.js';
import { type Logger, silentLogger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { ChannelGate } from '../channel-gate.js';
import { assertNoControlChars, quoteArgv } from '../quote.js';
import { assertOperands, type RemoteScript, scriptAuditArgv } from '../remote-script.js';
import {
  DEFAULT_TIMEOUT_MS,
  type PathStat,
  type RunOptions,
  type RunResult,
  type Transport,
} from '../transport.js';
import { type ConnectionStatus, SshConnection } from './connection.js';
import { execOnChannel, PID_MARKER_PREFIX } from './exec-channel.js';
import { RemoteKill } from './remote-kill.js';
import { scriptCommand } from './script-command.js';
import { SshJob } from './ssh-job.js';
import { StatAgentKeeper } from './stat-agent.js';

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
  /** Reconnects and channel waits are counted here. */
  readonly metrics?: Pick<Metrics, 'sshReconnects' | 'sshChannelWaits'>;
}

/**
 * Runs commands over ONE pooled ssh2 connection (connection.ts: keepalive, reconnect with backoff, pinned
 * host key): channels capped below MaxSessions by a ChannelGate, the rest queued FIFO. A command in flight
 * when the connection drops fails (it may or may not have run); commands still queued run after the
 * reconnect.
 */
export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly #host: string;
  readonly #logger: Logger;
  readonly #metrics: SshTransportOptions['metrics'];
  readonly #gate: ChannelGate;
  readonly #conn: SshConnection;
  readonly #kills: RemoteKill;
  /** The stat agent kept running on the connection for statPaths; it holds one of the channel slots. */
  readonly #agents: StatAgentKeeper;
  /** Jobs holding a slot, waiting to start: for a connection, or to retry a channel sshd refused. */
  readonly #ready: SshJob[] = [];
  readonly #inFlight = new Set<SshJob>();
  #startTimer: NodeJS.Timeout | undefined;
  #closed = false;

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
    this.#host = opts.host;
    this.#logger = opts.logger ?? silentLogger();
    this.#metrics = opts.metrics;
    this.#gate = new ChannelGate(opts.maxChannels ?? 8);
    this.#conn = new SshConnection(
      {
        host: opts.host,
        port: opts.port ?? 22,
        username: opts.username,
        privateKey: opts.privateKey,
        keyPath: opts.keyPath,
        knownHostsPath: opts.knownHostsPath,
        fingerprint: opts.fingerprint,
        keepaliveMs: opts.keepaliveMs ?? 15_000,
        connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
        minBackoffMs: opts.minBackoffMs ?? 200,
        maxBackoffMs: opts.maxBackoffMs ?? 10_000,
        logger: this.#logger,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
      },
      {
        ready: () => this.#startReady(),
        dropped: (client) => this.#onDrop(client),
        refused: (err) => this.#failNotStarted(err),
        wanted: () => !this.#closed && this.#ready.length > 0,
      },
    );
    this.#kills = new RemoteKill((client) => this.#conn.client === client, this.#logger);
    this.#agents = new StatAgentKeeper(this.#gate, this.#logger, this.#conn.target);
  }

  /** The pooled connection's state: the readiness check of the cluster reads it. */
  get status(): ConnectionStatus {
    return this.#conn.status;
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

  /**
   * stat() through the perl agent kept running on the connection (stat-agent.ts): no process starts per
   * call, so a sweep's quick check costs one small round trip instead of a remote shell. null where the
   * cluster has no perl, or whenever the agent cannot answer: callers then run a command instead.
   */
  async statPaths(
    paths: readonly string[],
    opts: { readonly timeoutMs?: number } = {},
  ): Promise<(PathStat | null)[] | null> {
    const client = this.#conn.client;
    // Not connected: run() is the one that connects (with backoff); stat is only ever a shortcut.
    if (this.#closed || !client || paths.length === 0) return null;
    try {
      for (const p of paths) {
        assertNoControlChars(p);
        if (p === '') return null;
      }
    } catch {
      return null;
    }
    return this.#agents.stat(client, paths, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#agents.drop(this.#conn.client);
    clearTimeout(this.#startTimer);
    const err = new ClusterError('SSH transport closed');
    this.#failNotStarted(err);
    for (const job of [...this.#inFlight]) job.abort?.(err);
    // Let the `kill` for commands aborted above reach the server before the connection goes.
    await this.#kills.settled(2000);
    await this.#conn.close();
  }

  #enqueue(argv: readonly string[], command: string, opts: RunOptions): Promise<RunResult> {
    if (this.#closed) return Promise.reject(new ClusterError('SSH transport is closed', { argv }));
    return new Promise<RunResult>((resolve, reject) => {
      const job = new SshJob(argv, command, opts, resolve, reject);
      // The timeout covers queueing and (re)connecting too: a caller never waits longer than it asked.
      job.timer = setTimeout(() => this.#onTimeout(job), job.timeoutMs);
      let granted = false;
      job.leaveLine = this.#gate.enter(
        () => {
          granted = true;
          this.#onSlot(job);
        },
        (err) => job.settle(err),
      );
      if (!granted) this.#metrics?.sshChannelWaits.inc({ reason: 'all_busy' });
    });
  }

  #onSlot(job: SshJob): void {
    this.#ready.push(job);
    this.#startReady();
  }

  /** Start every job that holds a slot, connecting first when there is no connection. */
  #startReady(): void {
    if (this.#closed) return;
    const client = this.#conn.client;
    if (!client) {
      if (this.#ready.length > 0) this.#conn.connect();
      return;
    }
    for (let job = this.#ready.shift(); job; job = this.#ready.shift()) this.#exec(client, job);
  }

  #startSoon(): void {
    if (this.#startTimer) return;
    this.#startTimer = setTimeout(() => {
      this.#startTimer = undefined;
      this.#startReady();
    }, 20);
  }

  /** Fail every job that has not started (in line, or holding a slot) with `err`: closing, or refused. */
  #failNotStarted(err: ClusterError): void {
    const ready = this.#ready.splice(0);
    for (const job of ready) job.settle(err);
    this.#gate.refuseWaiting(err);
    for (const _ of ready) this.#gate.release();
  }

  #onTimeout(job: SshJob): void {
    const notStarted = this.#ready.indexOf(job);
    if (job.leaveLine() || notStarted >= 0) {
      if (notStarted >= 0) this.#ready.splice(notStarted, 1);
      const why = this.#conn.connecting
        ? `could not connect to ${this.#conn.target}`
        : 'all SSH channels busy';
      job.settle(
        new ClusterError(`${job.argv[0]} did not start within ${job.timeoutMs} ms (${why})`, {
          argv: job.argv,
          exitCode: null,
          timedOut: true,
        }),
      );
      if (notStarted >= 0) this.#gate.release();
      return;
    }
    const err = new ClusterError(`${job.argv[0]} timed out after ${job.timeoutMs} ms and was killed`, {
      argv: job.argv,
      exitCode: null,
      timedOut: true,
    });
    if (job.abort) job.abort(err);
    else job.settle(err);
  }

  #onDrop(client: Client): void {
    this.#agents.drop(client);
    const lost = [...this.#inFlight];
    if (lost.length > 0 || !this.#closed) {
      this.#logger.warn(
        {
          target: this.#conn.target,
          inFlight: lost.length,
          queued: this.#ready.length + this.#gate.waiting,
        },
        'SSH connection lost',
      );
    }
    for (const job of lost) {
      job.abort?.(
        new ClusterError(
          `connection to ${this.#conn.target} was lost while ${job.argv[0]} was running; it may or may not have completed`,
          { argv: job.argv, exitCode: null, connectionLost: true },
        ),
      );
    }
    this.#startReady();
  }

  #exec(client: Client, job: SshJob): void {
    this.#inFlight.add(job);
    execOnChannel(client, job, {
      host: this.#host,
      isCurrent: (c) => this.#conn.client === c,
      retry: () => {
        // Only while other channels are open can a refusal be the MaxSessions race; alone, it is an error.
        const othersOpen = this.#gate.active - this.#ready.length - 1;
        if (othersOpen <= 0 || this.#conn.client !== client) return false;
        this.#metrics?.sshChannelWaits.inc({ reason: 'sshd_refused' });
        this.#inFlight.delete(job);
        job.abort = undefined;
        this.#ready.unshift(job);
        this.#startSoon();
        return true;
      },
      killRemote: (pid) => this.#kills.kill(client, pid),
      released: () => {
        this.#inFlight.delete(job);
        this.#gate.release();
      },
    });
  }
}
