import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

// Slack's Socket Mode side of the stand-in (docs/domain.md#socket-mode), on the same 127.0.0.1 server as the
// Web API fake. It enforces the protocol as Slack does: `apps.connections.open` hands out a single-use URL
// (a second connect to it is refused) and can be told to fail; `hello` on connect; server pings, and a client
// that stops ponging is dropped; at most 10 connections; envelopes go to any one open connection and must be
// acked within 3 s (late and missing acks are recorded, an unacked envelope is redelivered with
// `retry_attempt`/`retry_reason`); `disconnect` with `refresh_requested` (optionally after `warning`), then
// the socket is closed a short while later.

export interface SocketAck {
  readonly envelopeId: string;
  readonly payload: unknown;
  /** From the first delivery to this ack. */
  readonly ms: number;
  /** The connection the ack came on. */
  readonly connection: number;
}

/** How the next `apps.connections.open` fails: an HTTP status, the socket closed mid-call, or `ok: false`. */
export type OpenFailure =
  | { readonly kind: 'http'; readonly status: number }
  | { readonly kind: 'network' }
  | { readonly kind: 'error'; readonly error: string };

export interface FakeSocketOptions {
  /** Server ping period; a client that has not answered the previous ping by the next one is dropped. */
  readonly pingIntervalMs?: number;
  /** Slack's ack window. */
  readonly ackTimeoutMs?: number;
  /** Waits before each redelivery of an unacked envelope (Slack retries a few times, then gives up). */
  readonly retryDelaysMs?: readonly number[];
}

/** Slack allows this many Socket Mode connections per app (docs/domain.md#socket-mode). */
export const MAX_SOCKET_CONNECTIONS = 10;

interface Conn {
  readonly id: number;
  readonly ws: WebSocket;
  awaitingPong: boolean;
  /** Half-open: nothing is sent or answered on it any more (no pings, no pongs, no envelopes). */
  frozen: boolean;
  readonly pinger: NodeJS.Timeout;
}

interface Outgoing {
  readonly envelope: Record<string, unknown> & { envelope_id: string };
  readonly sentAt: number;
  attempt: number;
  acked: boolean;
  timer?: NodeJS.Timeout;
  resolve(ack: SocketAck): void;
  reject(err: Error): void;
}

export class FakeSlackSocket {
  /** Every ack received, on time or not. */
  readonly acks: SocketAck[] = [];
  /** Acks that came after the 3 s window. */
  readonly lateAcks: SocketAck[] = [];
  /** Envelopes whose ack window passed without an ack (one entry per delivery attempt). */
  readonly missingAcks: { readonly envelopeId: string; readonly attempt: number }[] = [];
  /** Envelopes that found no open connection (Slack would fail them: the command is lost). */
  readonly undelivered: { readonly envelopeId: string; readonly type: string; readonly at: number }[] = [];
  /** Connects refused: a used or unknown URL, or past the connection limit. */
  readonly refused: { readonly reason: string; readonly at: number }[] = [];
  /** Connections dropped because they stopped answering pings. */
  readonly dropped: number[] = [];
  /** Each stretch without any open connection, after the first one opened. */
  readonly gaps: { readonly from: number; readonly to: number }[] = [];
  /** Calls to apps.connections.open and how each was answered. */
  readonly opens: { readonly at: number; readonly answer: string }[] = [];

  readonly #server: Server;
  readonly #port: () => number;
  // Pongs are answered by hand, so a frozen connection can stop answering.
  readonly #wss = new WebSocketServer({ noServer: true, autoPong: false });
  readonly #tickets = new Map<string, 'fresh' | 'used'>();
  readonly #conns: Conn[] = [];
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #failures: OpenFailure[] = [];
  readonly #pingIntervalMs: number;
  readonly #ackTimeoutMs: number;
  readonly #retryDelaysMs: readonly number[];
  #nextId = 0;
  #next = 0;
  #downSince: number | undefined;
  #everUp = false;

  constructor(server: Server, port: () => number, opts: FakeSocketOptions = {}) {
    this.#server = server;
    this.#port = port;
    this.#pingIntervalMs = opts.pingIntervalMs ?? 5_000;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 3_000;
    this.#retryDelaysMs = opts.retryDelaysMs ?? [0, 1_000, 2_000];
    server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
  }

  /** A fresh single-use WebSocket URL, as apps.connections.open returns. */
  mintUrl(): string {
    const ticket = randomUUID();
    this.#tickets.set(ticket, 'fresh');
    return `ws://127.0.0.1:${this.#port()}/socket/${ticket}`;
  }

  /** The next `times` calls of apps.connections.open fail this way. */
  failOpen(failure: OpenFailure, times = 1): void {
    for (let i = 0; i < times; i++) this.#failures.push(failure);
  }

  /**
   * Answers apps.connections.open: a fresh URL, or the next queued failure. A network failure destroys the
   * request's socket, so the caller's answer is never written.
   */
  answerOpen(req: IncomingMessage): { status: number; body: unknown } {
    const failure = this.#failures.shift();
    const at = Date.now();
    if (!failure) {
      this.opens.push({ at, answer: 'ok' });
      return { status: 200, body: { ok: true, url: this.mintUrl() } };
    }
    if (failure.kind === 'network') {
      this.opens.push({ at, answer: 'network' });
      req.socket.destroy();
      return { status: 500, body: {} };
    }
    if (failure.kind === 'http') {
      this.opens.push({ at, answer: `http ${failure.status}` });
      return { status: failure.status, body: { ok: false, error: 'internal_error' } };
    }
    this.opens.push({ at, answer: failure.error });
    return { status: 200, body: { ok: false, error: failure.error } };
  }

  /** Open connections that have had their hello. */
  get connections(): number {
    return this.#open().length;
  }

  /** Total time without an open connection since the first one opened (a current gap counts to now). */
  get gapMs(): number {
    const closed = this.gaps.reduce((sum, g) => sum + (g.to - g.from), 0);
    return closed + (this.#downSince !== undefined ? Date.now() - this.#downSince : 0);
  }

  /** Delivers a slash command envelope to one open connection; resolves with the first ack. */
  sendSlashCommand(payload: Record<string, string>): Promise<SocketAck> {
    // Slack gives every invocation its own trigger_id.
    const full = { trigger_id: `${Date.now()}.${randomUUID().slice(0, 8)}`, ...payload };
    return this.send('slash_commands', full, true);
  }

  /** Delivers an envelope of `type`; rejects when no connection is open (Slack fails it: lost). */
  send(type: string, payload: Record<string, unknown>, acceptsResponsePayload = false): Promise<SocketAck> {
    const envelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: acceptsResponsePayload,
    };
    return new Promise<SocketAck>((resolve, reject) => {
      const out: Outgoing = { envelope, sentAt: Date.now(), attempt: 0, acked: false, resolve, reject };
      this.#outgoing.set(envelope.envelope_id, out);
      this.#deliver(out);
    });
  }

  /**
   * Sends an envelope already delivered once more, as Slack's retry would (`retry_attempt` + 1), under the
   * same envelope id or, with `newEnvelopeId`, under a new one (the payload unchanged).
   */
  redeliver(
    envelopeId: string,
    retryReason = 'timeout',
    opts: { newEnvelopeId?: boolean } = {},
  ): Promise<SocketAck> {
    const out = this.#outgoing.get(envelopeId);
    if (!out) throw new Error(`fake Slack: no envelope ${envelopeId}`);
    const envelope = opts.newEnvelopeId ? { ...out.envelope, envelope_id: randomUUID() } : out.envelope;
    return new Promise<SocketAck>((resolve, reject) => {
      const again: Outgoing = {
        envelope,
        sentAt: Date.now(),
        attempt: out.attempt + 1,
        acked: false,
        resolve,
        reject,
      };
      this.#outgoing.set(envelope.envelope_id, again);
      this.#deliver(again, retryReason);
    });
  }

  /**
   * Slack's refresh of the oldest open connection: optionally `disconnect`/`warning`, then
   * `disconnect`/`refresh_requested`, then the socket is closed `closeAfterMs` later. Envelopes may still go
   * to that connection until it closes. Resolves when it is closed.
   */
  async refresh(opts: { warning?: boolean; closeAfterMs?: number } = {}): Promise<void> {
    const [conn] = this.#open();
    if (!conn) throw new Error('fake Slack: no Socket Mode connection to refresh');
    const debug = { host: 'fake-slack', approximate_connection_time: 18_060 };
    if (opts.warning)
      conn.ws.send(JSON.stringify({ type: 'disconnect', reason: 'warning', debug_info: debug }));
    conn.ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: debug }));
    await new Promise((r) => setTimeout(r, opts.closeAfterMs ?? 1_000));
    await this.#close(conn);
  }

  /** Sends `disconnect` with `reason` on every connection and closes them after `closeAfterMs`. */
  async disconnectAll(reason: string, closeAfterMs = 200): Promise<void> {
    const all = this.#open();
    for (const c of all) c.ws.send(JSON.stringify({ type: 'disconnect', reason }));
    await new Promise((r) => setTimeout(r, closeAfterMs));
    await Promise.all(all.map((c) => this.#close(c)));
  }

  /**
   * Every open connection goes half-open, as behind a NAT that dropped it: the socket stays up, but nothing
   * comes from Slack any more, not even pongs. A client must notice by itself and reconnect.
   */
  freezeAll(): void {
    for (const c of this.#open()) c.frozen = true;
  }

  /** Cuts every connection without a close handshake, as a network failure would. */
  cutAll(): void {
    for (const c of this.#open()) c.ws.terminate();
  }

  async close(): Promise<void> {
    for (const out of this.#outgoing.values()) clearTimeout(out.timer);
    for (const c of [...this.#conns]) c.ws.terminate();
    await new Promise<void>((r) => this.#wss.close(() => r()));
    this.#server.removeAllListeners('upgrade');
  }

  #open(): Conn[] {
    return this.#conns.filter((c) => c.ws.readyState === WebSocket.OPEN && !c.frozen);
  }

  #close(conn: Conn): Promise<void> {
    if (conn.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      conn.ws.once('close', () => resolve());
      conn.ws.close(1001, 'refresh');
      // Slack does not wait long for the close handshake.
      setTimeout(() => conn.ws.terminate(), 500).unref();
    });
  }

  #deliver(out: Outgoing, retryReason?: string): void {
    const open = this.#open();
    const conn = open[this.#next++ % Math.max(1, open.length)];
    if (!conn) {
      this.undelivered.push({
        envelopeId: out.envelope.envelope_id,
        type: String(out.envelope.type),
        at: Date.now(),
      });
      out.reject(new Error('fake Slack: no Socket Mode connection open; the envelope is lost'));
      return;
    }
    const body =
      out.attempt > 0
        ? { ...out.envelope, retry_attempt: out.attempt, retry_reason: retryReason ?? 'timeout' }
        : out.envelope;
    conn.ws.send(JSON.stringify(body));
    out.timer = setTimeout(() => {
      if (out.acked) return;
      this.missingAcks.push({ envelopeId: out.envelope.envelope_id, attempt: out.attempt });
      const delay = this.#retryDelaysMs[out.attempt];
      if (delay === undefined) return;
      setTimeout(() => {
        if (out.acked) return;
        out.attempt++;
        this.#deliver(out, 'timeout');
      }, delay).unref();
    }, this.#ackTimeoutMs);
    out.timer.unref();
  }

  #onAck(conn: Conn, msg: { envelope_id: string; payload?: unknown }): void {
    const out = this.#outgoing.get(msg.envelope_id);
    if (!out) return;
    const ms = Date.now() - out.sentAt;
    const ack: SocketAck = { envelopeId: msg.envelope_id, payload: msg.payload, ms, connection: conn.id };
    this.acks.push(ack);
    if (ms > this.#ackTimeoutMs) this.lateAcks.push(ack);
    if (out.acked) return;
    out.acked = true;
    clearTimeout(out.timer);
    out.resolve(ack);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/socket\/([\w-]+)$/.exec(url.pathname);
    const ticket = m?.[1];
    const state = ticket ? this.#tickets.get(ticket) : undefined;
    if (!ticket || state !== 'fresh') {
      this.refused.push({ reason: state === 'used' ? 'url already used' : 'unknown url', at: Date.now() });
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.#tickets.set(ticket, 'used');
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    if (this.#open().length >= MAX_SOCKET_CONNECTIONS) {
      this.refused.push({ reason: 'too_many_websockets', at: Date.now() });
      ws.send(JSON.stringify({ type: 'disconnect', reason: 'too_many_websockets' }));
      ws.close(1008, 'too many websockets');
      return;
    }
    const conn: Conn = {
      id: ++this.#nextId,
      ws,
      awaitingPong: false,
      frozen: false,
      pinger: setInterval(() => {
        if (conn.frozen) return;
        if (conn.awaitingPong) {
          this.dropped.push(conn.id);
          ws.terminate();
          return;
        }
        conn.awaitingPong = true;
        ws.ping();
      }, this.#pingIntervalMs),
    };
    this.#conns.push(conn);
    ws.on('pong', () => {
      conn.awaitingPong = false;
    });
    ws.on('ping', (data) => {
      if (!conn.frozen) ws.pong(data);
    });
    ws.on('close', () => {
      clearInterval(conn.pinger);
      this.#conns.splice(this.#conns.indexOf(conn), 1);
      if (this.#open().length === 0 && this.#downSince === undefined) this.#downSince = Date.now();
    });
    ws.on('message', (data) => {
      let msg: { envelope_id?: unknown; payload?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      if (typeof msg.envelope_id === 'string')
        this.#onAck(conn, { envelope_id: msg.envelope_id, payload: msg.payload });
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#open().length,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: 'A0FAKEAPP' },
      }),
    );
    if (this.#downSince !== undefined && this.#everUp)
      this.gaps.push({ from: this.#downSince, to: Date.now() });
    this.#downSince = undefined;
    this.#everUp = true;
  }
}
