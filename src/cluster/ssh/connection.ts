import { readFile } from 'node:fs/promises';
import type { Client, ConnectConfig } from 'ssh2';
import { ClusterError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { FatalConnectError } from './fatal-connect-error.js';
import { type HostKeyPin, type HostKeyPinOptions, hostKeyRefusal, loadHostKeyPin } from './host-key-pin.js';

export interface ConnectionOptions extends HostKeyPinOptions {
  readonly username: string;
  /** The private key itself, or a path to read it from (one of the two). */
  readonly privateKey?: Buffer;
  readonly keyPath?: string;
  readonly keepaliveMs: number;
  readonly connectTimeoutMs: number;
  /** Reconnect backoff: first retry after this, doubling up to maxBackoffMs. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, 'sshReconnects'>;
}

/** The connection's state for readiness (the same shape as the Slack connection's status). */
export interface ConnectionStatus {
  readonly connected: boolean;
  /** Epoch ms of the last change. */
  readonly since: number;
  readonly detail: string;
}

export interface ConnectionEvents {
  /** A connection is up: the first one, or a new one after a drop or a failed attempt. */
  ready(client: Client): void;
  /** An established connection closed. */
  dropped(client: Client): void;
  /** Connecting failed in a way retrying cannot fix (host key, credentials); no retry follows. */
  refused(err: ClusterError): void;
  /** Whether anything still waits for a connection: a failed attempt is retried only then. */
  wanted(): boolean;
}

/**
 * The one ssh2 connection everything runs over: opened on demand with the host key pinned, kept alive,
 * and opened again after a failed attempt with doubling backoff while something waits for it.
 */
export class SshConnection {
  readonly target: string;
  readonly #o: ConnectionOptions;
  readonly #events: ConnectionEvents;
  #client: Client | undefined;
  #connecting = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #everConnected = false;
  #status: ConnectionStatus = { connected: false, since: Date.now(), detail: 'not connected yet' };

  constructor(opts: ConnectionOptions, events: ConnectionEvents) {
    this.#o = opts;
    this.#events = events;
    this.target = `${opts.username}@${opts.host}:${opts.port}`;
  }

  /** The connection when it is up. */
  get client(): Client | undefined {
    return this.#client;
  }

  /** Connected or not, since when, and why not. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  #setStatus(connected: boolean, detail: string): void {
    this.#status = { connected, since: Date.now(), detail };
  }

  /** Whether an attempt to connect is under way right now. */
  get connecting(): boolean {
    return this.#connecting;
  }

  /** Start connecting, unless connected, connecting, waiting out a backoff or closed. */
  connect(): void {
    if (this.#client || this.#connecting || this.#retryTimer || this.#closed) return;
    this.#connecting = true;
    this.#open().then(
      (client) => this.#onOpened(client),
      (err: unknown) => this.#onFailed(err),
    );
  }

  /** End the connection (waiting up to 2 s for it to close) and never connect again. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#setStatus(false, 'closed');
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      client.end();
    });
  }

  #onOpened(client: Client): void {
    this.#connecting = false;
    if (this.#closed) {
      client.end();
      return;
    }
    if (this.#attempt > 0) this.#o.logger.info({ target: this.target }, 'SSH reconnected');
    if (this.#attempt > 0 || this.#everConnected) this.#o.metrics?.sshReconnects.inc({});
    this.#attempt = 0;
    this.#everConnected = true;
    this.#client = client;
    this.#setStatus(true, `connected to ${this.target}`);
    this.#events.ready(client);
  }

  #onFailed(err: unknown): void {
    this.#connecting = false;
    const error =
      err instanceof ClusterError
        ? err
        : new ClusterError(`cannot connect to ${this.target}: ${(err as Error).message}`);
    if (err instanceof FatalConnectError) {
      // Retrying would only hammer the server with the same wrong key/credentials.
      this.#o.logger.warn({ target: this.target, err: error.message }, 'SSH connect refused');
      this.#setStatus(false, `connect refused (not retried): ${error.message}`);
      this.#events.refused(error);
      return;
    }
    this.#setStatus(false, `connect failed: ${error.message}`);
    if (this.#closed || !this.#events.wanted()) return;
    const delay = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** this.#attempt);
    this.#attempt++;
    this.#o.logger.warn(
      { target: this.target, err: error.message, retryInMs: delay, attempt: this.#attempt },
      'SSH connect failed; retrying',
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#events.wanted()) this.connect();
    }, delay);
  }

  async #open(): Promise<Client> {
    const o = this.#o;
    let privateKey: Buffer;
    try {
      privateKey = o.privateKey ?? (await readFile(o.keyPath ?? ''));
    } catch (e) {
      throw new FatalConnectError(`cannot read SSH key ${o.keyPath}: ${(e as Error).message}`);
    }
    const pin = await loadHostKeyPin(o);
    let mismatch: FatalConnectError | undefined;
    const config = this.#config(privateKey, pin, (refusal) => {
      mismatch = refusal;
    });
    // ssh2 loads with the first connection: a CLI command that never reaches the cluster does not pay for it.
    const { Client: SshClient } = await import('ssh2');
    const client = new SshClient();
    return new Promise<Client>((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (ready) {
          o.logger.warn({ target: this.target, err: err.message }, 'SSH connection error');
          return;
        }
        if (mismatch) reject(mismatch);
        else if (err.level === 'client-authentication') {
          reject(new FatalConnectError(`SSH authentication as ${o.username} to ${this.target} failed`));
        } else reject(new ClusterError(`cannot connect to ${this.target}: ${err.message}`));
      });
      client.on('close', () => {
        if (!ready) {
          reject(mismatch ?? new ClusterError(`connection to ${this.target} closed during handshake`));
          return;
        }
        if (this.#client === client) {
          this.#client = undefined;
          if (!this.#closed) this.#setStatus(false, `connection to ${this.target} lost`);
        }
        this.#events.dropped(client);
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

  #config(
    privateKey: Buffer,
    pin: HostKeyPin,
    onRefusal: (refusal: FatalConnectError) => void,
  ): ConnectConfig {
    const o = this.#o;
    return {
      host: o.host,
      port: o.port,
      username: o.username,
      privateKey,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: 3,
      ...(pin.algorithms ? { algorithms: { serverHostKey: pin.algorithms } } : {}),
      hostVerifier: (key: Buffer) => {
        const refusal = hostKeyRefusal(pin, key, this.target, o.knownHostsPath);
        if (refusal) onRefusal(refusal);
        return refusal === null;
      },
    };
  }
}
