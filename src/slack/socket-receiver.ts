import type { AckFn, App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Logger } from '../logger.js';
import {
  DEFAULT_SOCKET_TIMINGS,
  SocketConnection,
  type SocketEnvelope,
  type SocketTimings,
} from './socket-connection.js';
import { EnvelopeDedup } from './socket-dedup.js';
import { describeOpenError } from './socket-open.js';
import { connectedStatus, disconnectedStatus, type SlackConnectionStatus } from './socket-status.js';

export interface ReconnectBackoff {
  /** First wait after a failure; doubled on each further failure. */
  readonly minMs: number;
  /** The longest wait between two attempts. */
  readonly maxMs: number;
}

export interface SocketReceiverOptions {
  /** A fresh WebSocket URL per call (`apps.connections.open`). */
  readonly openUrl: () => Promise<string>;
  readonly log: Logger;
  readonly timings?: Partial<SocketTimings>;
  readonly backoff?: Partial<ReconnectBackoff>;
}

/** Slack gives up on an envelope not acked within 3 s (docs/domain.md#socket-mode): ack by then whatever happens. */
const ACK_DEADLINE_MS = 2_500;
/**
 * After a replacement says hello, how long an old connection is left for Slack to close. Closing it ourselves
 * races Slack: an envelope it sends as we close is never acked and comes back 3 s later on the other socket.
 */
const RETIRE_GRACE_MS = 10_000;
/**
 * Bolt's receiver for Socket Mode, in place of SocketModeReceiver, so that no Slack-side failure ends the
 * process and no command is lost across a refresh:
 * - when Slack asks for a refresh (`disconnect` with `warning` or `refresh_requested`), a new connection is
 *   opened while the old one still delivers, and the old one is closed only after the new one says `hello`
 *   (Slack allows 10 connections per app and delivers each envelope to one of them);
 * - any failure of `apps.connections.open` or of a connection (5xx, network, a ping timeout) is retried with
 *   exponential backoff, forever; only a token Slack refuses while starting makes start() reject;
 * - every envelope is acked within 3 s, and a redelivered one is acked without running again.
 */
export class SocketModeConnections implements Receiver {
  #app: App | undefined;
  readonly #openUrl: () => Promise<string>;
  readonly #log: Logger;
  readonly #timings: SocketTimings;
  readonly #backoff: ReconnectBackoff;
  readonly #dedup = new EnvelopeDedup();
  /** Connected and not asked to go. */
  readonly #live = new Set<SocketConnection>();
  /** Asked by Slack to go (or replaced): they still deliver until closed. */
  readonly #retiring = new Set<SocketConnection>();
  #connecting: SocketConnection | undefined;
  #replacing: Promise<void> | undefined;
  #failures = 0;
  #stopped = true;
  #everConnected = false;
  #wake: (() => void) | undefined;
  #status: SlackConnectionStatus = disconnectedStatus(Date.now(), 'not connected yet');

  constructor(opts: SocketReceiverOptions) {
    this.#openUrl = opts.openUrl;
    this.#log = opts.log;
    this.#timings = { ...DEFAULT_SOCKET_TIMINGS, ...opts.timings };
    this.#backoff = { minMs: 1_000, maxMs: 30_000, ...opts.backoff };
  }

  init(app: App): void {
    this.#app = app;
  }

  /** Resolves once a connection says `hello`, retrying Slack's failures; rejects only for a refused token. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#replace('starting', { initial: true });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const all = [...this.#live, ...this.#retiring, ...(this.#connecting ? [this.#connecting] : [])];
    this.#live.clear();
    this.#retiring.clear();
    await Promise.all(all.map((c) => c.close('the bot is stopping')));
    await this.#replacing?.catch(() => undefined);
    this.#setDown('the bot stopped');
  }

  connection(): SlackConnectionStatus {
    return this.#status;
  }

  /** Opens one connection unless that is already under way; the promise settles when it is up. */
  #replace(why: string, opts: { initial?: boolean; delayFirst?: boolean } = {}): Promise<void> {
    if (!this.#replacing) {
      this.#replacing = this.#openLoop(why, opts).finally(() => {
        this.#replacing = undefined;
      });
    }
    return this.#replacing;
  }

  #replaceInBackground(why: string, opts: { delayFirst?: boolean } = {}): void {
    this.#replace(why, opts).catch((err: unknown) =>
      this.#log.error({ err }, 'Socket Mode: reconnecting failed unexpectedly'),
    );
  }

  async #openLoop(why: string, opts: { initial?: boolean; delayFirst?: boolean }): Promise<void> {
    this.#log.info({ why }, 'Socket Mode: opening a connection');
    if (opts.delayFirst) {
      this.#failures++;
      await this.#sleep(this.#nextWait());
    }
    while (!this.#stopped) {
      let url: string;
      try {
        url = await this.#openUrl();
      } catch (err) {
        const { reason, permanent } = describeOpenError(err);
        if (this.#stopped) return;
        if (permanent && opts.initial) {
          throw new Error(
            `${reason}: SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write`,
          );
        }
        await this.#failed(reason, permanent);
        continue;
      }
      if (this.#stopped) return;
      const conn = new SocketConnection(this.#timings);
      this.#connecting = conn;
      conn.on('envelope', (env) => this.#onEnvelope(conn, env));
      try {
        const hello = await conn.connect(url);
        this.#connecting = undefined;
        if (this.#stopped) {
          await conn.close('the bot is stopping');
          return;
        }
        this.#wire(conn);
        // A disconnect or close that came in the same read as the hello, before the listeners were on.
        if (!conn.open) {
          await this.#failed('the connection closed right after its hello', false);
          continue;
        }
        this.#failures = 0;
        if (conn.disconnectReason) this.#retiring.add(conn);
        else this.#live.add(conn);
        this.#markUp();
        this.#log.info(
          {
            connection: conn.id,
            numConnections: hello.numConnections,
            approximateConnectionTime: hello.approximateConnectionTime,
          },
          'Socket Mode: connected',
        );
        if (conn.disconnectReason) {
          await this.#failed(`Slack sent disconnect (${conn.disconnectReason}) right after hello`, false);
          continue;
        }
        // The replacement is up: the connections Slack asked us to drop may go once Slack closes them.
        for (const old of this.#retiring) void this.#retire(old);
        return;
      } catch (err) {
        this.#connecting = undefined;
        await conn.close();
        if (this.#stopped) return;
        await this.#failed(`the WebSocket did not open: ${(err as Error).message}`, false);
      }
    }
  }

  async #failed(reason: string, permanent: boolean): Promise<void> {
    this.#failures = permanent ? Math.max(this.#failures + 1, 30) : this.#failures + 1;
    const waitMs = this.#nextWait();
    if (!this.#anyOpen()) this.#setDown(reason);
    const fields = { reason, attempt: this.#failures, retryInMs: waitMs };
    if (permanent) this.#log.error(fields, 'Socket Mode: Slack refused the app token; retrying');
    else this.#log.warn(fields, 'Socket Mode: could not connect; retrying');
    await this.#sleep(waitMs);
  }

  #wire(conn: SocketConnection): void {
    conn.on('disconnect', (reason) => {
      if (!this.#live.delete(conn)) return;
      this.#retiring.add(conn);
      if (reason === 'link_disabled') {
        this.#log.error(
          { connection: conn.id, reason },
          'Socket Mode is turned off in the app settings; retrying',
        );
      } else {
        this.#log.info({ connection: conn.id, reason }, 'Socket Mode: Slack asked to replace a connection');
      }
      if (this.#live.size > 0) return;
      // Too many connections or Socket Mode turned off: asking again at once would only be refused again.
      const delayFirst = reason === 'too_many_websockets' || reason === 'link_disabled';
      this.#replaceInBackground(`Slack sent disconnect (${reason})`, { delayFirst });
    });
    conn.on('closed', (why) => {
      const wasLive = this.#live.delete(conn);
      const wasRetiring = this.#retiring.delete(conn);
      if (this.#stopped || (!wasLive && !wasRetiring)) return;
      this.#log.info({ connection: conn.id, why }, 'Socket Mode: connection closed');
      if (!this.#anyOpen()) this.#setDown(why);
      if (this.#live.size === 0) this.#replaceInBackground(why);
    });
  }

  /** Leaves a connection Slack asked us to drop for Slack to close; closes it if Slack has not in a while. */
  async #retire(conn: SocketConnection): Promise<void> {
    const deadline = Date.now() + RETIRE_GRACE_MS;
    while (conn.open && (Date.now() < deadline || conn.pendingAcks > 0) && Date.now() < deadline + 2_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (conn.open) await conn.close('replaced by a newer connection');
  }

  #onEnvelope(conn: SocketConnection, env: SocketEnvelope): void {
    const fields = {
      connection: conn.id,
      envelope: env.envelope_id,
      type: env.type,
      retry: env.retry_attempt,
    };
    if (!this.#dedup.admit(env)) {
      this.#log.info(
        { ...fields, reason: env.retry_reason },
        'Socket Mode: redelivered envelope acked, not run again',
      );
      conn.ack(env.envelope_id).catch((err: unknown) => this.#log.warn({ ...fields, err }, 'could not ack'));
      return;
    }
    const app = this.#app;
    let acked = false;
    // Never throws: a listener awaiting ack() must go on with the command even if the socket closed under it
    // (Slack then redelivers it elsewhere, and the redelivery is acked without running twice).
    const ack: AckFn<unknown> = async (response) => {
      if (acked) return;
      acked = true;
      clearTimeout(deadline);
      await conn
        .ack(env.envelope_id, response ?? undefined)
        .catch((err: unknown) =>
          this.#log.warn(
            { ...fields, err },
            'Socket Mode: could not ack an envelope (its connection closed)',
          ),
        );
    };
    const deadline = setTimeout(() => {
      this.#log.warn(fields, `Socket Mode: no listener acked within ${ACK_DEADLINE_MS} ms; acked empty`);
      void ack();
    }, ACK_DEADLINE_MS);
    if (!app) {
      void ack();
      return;
    }
    // Acked on receipt, before Bolt's middleware runs, when waiting gains nothing and risks the ack: no response
    // payload can ride on it, or Slack is about to close this connection (an ack sent after the close is lost
    // and the envelope comes back 3 s later). Bolt's own ack() is then a no-op.
    if (!env.accepts_response_payload || this.#retiring.has(conn)) void ack();
    const event: ReceiverEvent = {
      body: env.payload,
      ack,
      ...(env.retry_attempt !== undefined ? { retryNum: env.retry_attempt } : {}),
      ...(env.retry_reason !== undefined ? { retryReason: env.retry_reason } : {}),
    };
    app
      .processEvent(event)
      .catch((err: unknown) => this.#log.error({ ...fields, err }, 'Socket Mode: an envelope failed in Bolt'))
      .finally(() => void ack());
  }

  #anyOpen(): boolean {
    for (const c of this.#live) if (c.open) return true;
    for (const c of this.#retiring) if (c.open) return true;
    return false;
  }

  #markUp(): void {
    const now = Date.now();
    if (this.#status.connected) return;
    if (this.#everConnected) {
      this.#log.info(
        { gapMs: now - this.#status.since },
        'Socket Mode: reconnected after a time without a connection',
      );
    }
    this.#everConnected = true;
    this.#status = connectedStatus(now, `Slack connected (Socket Mode) since ${new Date(now).toISOString()}`);
  }

  #setDown(reason: string): void {
    const since = this.#status.connected ? Date.now() : this.#status.since;
    this.#status = disconnectedStatus(since, reason);
  }

  #nextWait(): number {
    const base = Math.min(this.#backoff.maxMs, this.#backoff.minMs * 2 ** Math.max(0, this.#failures - 1));
    // ±25% jitter: replicas that lost Slack together do not all ask again in the same instant.
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
