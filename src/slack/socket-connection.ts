import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

/** A Socket Mode envelope as Slack sends it (docs/domain.md#socket-mode). */
export interface SocketEnvelope {
  readonly envelope_id: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly accepts_response_payload?: boolean;
  readonly retry_attempt?: number;
  readonly retry_reason?: string;
}

export interface SocketTimings {
  /** Give up on a connection that has not said `hello` by then. */
  readonly helloTimeoutMs: number;
  /** We ping this often; any frame from Slack (message, ping or pong) proves the link alive. */
  readonly pingIntervalMs: number;
  /** Nothing heard from Slack for this long: the link is dead (a half-open TCP connection), drop it. */
  readonly silenceTimeoutMs: number;
}

export const DEFAULT_SOCKET_TIMINGS: SocketTimings = {
  helloTimeoutMs: 10_000,
  pingIntervalMs: 5_000,
  silenceTimeoutMs: 15_000,
};

interface ConnectionEvents {
  envelope: [SocketEnvelope];
  /** Slack's `type: disconnect` message: `warning`, `refresh_requested`, `too_many_websockets`, `link_disabled`. */
  disconnect: [string];
  /** The socket is gone, with why; emitted once. */
  closed: [string];
}

let sequence = 0;

/**
 * One Socket Mode WebSocket: connects, waits for `hello`, keeps the link checked with pings, hands envelopes
 * on and sends acks. It never reconnects itself: the receiver decides when to open another.
 */
export class SocketConnection extends EventEmitter<ConnectionEvents> {
  readonly id = ++sequence;
  #ws: WebSocket | undefined;
  #heard = Date.now();
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #pending = 0;
  #disconnectReason: string | undefined;
  readonly #timings: SocketTimings;

  constructor(timings: SocketTimings) {
    super();
    this.#timings = timings;
  }

  get open(): boolean {
    return !this.#closed && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** The reason of Slack's `disconnect` message, once one came. */
  get disconnectReason(): string | undefined {
    return this.#disconnectReason;
  }

  /** Envelopes delivered on this socket and not yet acked. */
  get pendingAcks(): number {
    return this.#pending;
  }

  /** Resolves on `hello` with the number of connections Slack reports; rejects if the socket ends first. */
  connect(url: string): Promise<{ numConnections?: number; approximateConnectionTime?: number }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { handshakeTimeout: this.#timings.helloTimeoutMs });
      this.#ws = ws;
      let helloSeen = false;
      const helloTimer = setTimeout(
        () => this.#end(`no hello within ${this.#timings.helloTimeoutMs} ms`),
        this.#timings.helloTimeoutMs,
      );
      const failEarly = (why: string) => {
        if (helloSeen) return;
        clearTimeout(helloTimer);
        reject(
          new Error(
            this.#disconnectReason ? `Slack sent disconnect (${this.#disconnectReason}), ${why}` : why,
          ),
        );
      };
      this.once('closed', failEarly);
      ws.on('error', (err) => this.#end(`WebSocket error: ${err.message}`));
      ws.on('close', (code, reason) =>
        this.#end(`socket closed (${code}${reason.length ? ` ${reason}` : ''})`),
      );
      ws.on('ping', () => this.#hear());
      ws.on('pong', () => this.#hear());
      ws.on('open', () => {
        this.#hear();
        this.#heartbeat = setInterval(() => this.#beat(), this.#timings.pingIntervalMs);
      });
      ws.on('message', (data) => {
        this.#hear();
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(String(data)) as Record<string, unknown>;
        } catch {
          return;
        }
        if (msg.type === 'hello') {
          helloSeen = true;
          clearTimeout(helloTimer);
          this.off('closed', failEarly);
          const debug = msg.debug_info as { approximate_connection_time?: number } | undefined;
          resolve({
            ...(typeof msg.num_connections === 'number' ? { numConnections: msg.num_connections } : {}),
            ...(typeof debug?.approximate_connection_time === 'number'
              ? { approximateConnectionTime: debug.approximate_connection_time }
              : {}),
          });
          return;
        }
        if (msg.type === 'disconnect') {
          this.#disconnectReason ??= typeof msg.reason === 'string' ? msg.reason : 'unknown';
          this.emit('disconnect', typeof msg.reason === 'string' ? msg.reason : 'unknown');
          return;
        }
        if (typeof msg.envelope_id === 'string') {
          this.#pending++;
          this.emit('envelope', msg as unknown as SocketEnvelope);
        }
      });
    });
  }

  /** Acks an envelope delivered on this socket; rejects if the socket is gone (Slack will redeliver). */
  ack(envelopeId: string, payload?: unknown): Promise<void> {
    this.#pending = Math.max(0, this.#pending - 1);
    const ws = this.#ws;
    if (!ws || !this.open) return Promise.reject(new Error('the Socket Mode connection is closed'));
    const body = JSON.stringify(
      payload === undefined ? { envelope_id: envelopeId } : { envelope_id: envelopeId, payload },
    );
    return new Promise((resolve, reject) => ws.send(body, (err) => (err ? reject(err) : resolve())));
  }

  /** Closes gracefully; a peer that does not answer the close frame within 1 s is cut off. */
  close(why = 'closed by the bot'): Promise<void> {
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      this.#end(why);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const cut = setTimeout(() => ws.terminate(), 1000);
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      this.#end(why);
    });
  }

  #hear(): void {
    this.#heard = Date.now();
  }

  #beat(): void {
    const ws = this.#ws;
    if (!ws || this.#closed) return;
    if (Date.now() - this.#heard > this.#timings.silenceTimeoutMs) {
      this.#end(
        `nothing heard from Slack for ${this.#timings.silenceTimeoutMs} ms (no ping, pong or message)`,
      );
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  }

  #end(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    }
    this.emit('closed', why);
  }
}
