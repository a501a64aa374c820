import type { Logger } from '../logger.js';
// Slack allows about one message per second per channel and answers 429 with Retry-After beyond that.
// @slack/web-api's own queue is global (a 429 in one channel pauses every channel), so the client is built
// with rejectRateLimitedCalls and this pacer keeps one queue per channel instead.

export interface PacerOptions {
  /** Minimum gap between two sends to one channel. */
  readonly minIntervalMs?: number;
  /** How many 429s one message may absorb before its promise rejects. */
  readonly maxRateLimitRetries?: number;
  readonly log?: Logger;
}

interface Task {
  run(): Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Lane {
  readonly tasks: Task[];
  nextAt: number;
  running: boolean;
}

/** The seconds to wait if `e` is a Slack rate-limit error, else undefined. */
export function retryAfterSeconds(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; retryAfter?: unknown; data?: { error?: unknown } };
  if (err.code === 'slack_webapi_rate_limited_error' && typeof err.retryAfter === 'number')
    return err.retryAfter;
  if (err.data?.error === 'ratelimited') return 1;
  return undefined;
}

export class ChannelPacer {
  readonly #lanes = new Map<string, Lane>();
  readonly #minIntervalMs: number;
  readonly #maxRetries: number;
  readonly #log: PacerOptions['log'];
  #closed = false;

  constructor(opts: PacerOptions = {}) {
    this.#minIntervalMs = opts.minIntervalMs ?? 1100;
    this.#maxRetries = opts.maxRateLimitRetries ?? 5;
    this.#log = opts.log;
  }

  /** Run `send` for `channel` when the channel's turn comes; resolves with its result. */
  enqueue<T>(channel: string, send: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the Slack sender is shutting down'));
    return new Promise<T>((resolve, reject) => {
      let lane = this.#lanes.get(channel);
      if (!lane) {
        lane = { tasks: [], nextAt: 0, running: false };
        this.#lanes.set(channel, lane);
      }
      lane.tasks.push({ run: send, resolve: resolve as (v: unknown) => void, reject });
      if (!lane.running) void this.#drain(channel, lane);
    });
  }

  /** Messages waiting per channel (for logs and tests). */
  pending(channel: string): number {
    return this.#lanes.get(channel)?.tasks.length ?? 0;
  }

  /** Wait for queued messages to go out (bounded), then refuse new ones. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + timeoutMs;
    while ([...this.#lanes.values()].some((l) => l.running) && Date.now() < deadline) await sleep(50);
  }

  async #drain(channel: string, lane: Lane): Promise<void> {
    lane.running = true;
    try {
      for (let task = lane.tasks.shift(); task; task = lane.tasks.shift()) {
        let attempt = 0;
        for (;;) {
          const wait = lane.nextAt - Date.now();
          if (wait > 0) await sleep(wait);
          lane.nextAt = Date.now() + this.#minIntervalMs;
          try {
            task.resolve(await task.run());
            break;
          } catch (e) {
            const after = retryAfterSeconds(e);
            if (after === undefined || attempt >= this.#maxRetries) {
              task.reject(e);
              break;
            }
            attempt++;
            lane.nextAt = Date.now() + Math.max(after * 1000, this.#minIntervalMs);
            this.#log?.warn({ channel, retryAfterS: after, attempt }, 'Slack rate limit; this channel waits');
          }
        }
      }
    } finally {
      // The lane (and its nextAt) stays, so a message right after an idle moment still keeps the gap.
      lane.running = false;
      if (lane.tasks.length > 0) void this.#drain(channel, lane);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
