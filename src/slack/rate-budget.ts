import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// One budget for a tiered Slack method, shared by every channel, batch and replica of the workspace
// (docs/domain.md#posting-rates: tiers count per method, per app, per workspace). With Redis it is a sliding
// log in one sorted set, so every process sees every call; a 429's Retry-After pauses them all.

export interface RateBudget {
  /** Resolves when one call may be made now (and counts it). */
  acquire(signal?: { readonly aborted: boolean }): Promise<void>;
  /** Slack said 429: nobody calls this method for `ms`. */
  pause(ms: number): Promise<void>;
}

const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function acquireWith(take: () => Promise<number>, signal?: { readonly aborted: boolean }) {
  for (;;) {
    const wait = await take();
    if (wait <= 0 || signal?.aborted) return;
    await sleep(Math.min(wait, 1000));
  }
}

export class RedisRateBudget implements RateBudget {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  acquire(signal?: { readonly aborted: boolean }): Promise<void> {
    return acquireWith(async () => {
      const r = await this.redis.eval(
        TAKE,
        2,
        this.key,
        `${this.key}:pause`,
        String(this.limit),
        String(this.windowMs),
        randomUUID(),
      );
      return Number(r);
    }, signal);
  }

  async pause(ms: number): Promise<void> {
    await this.redis.set(`${this.key}:pause`, '1', 'PX', Math.max(1, Math.ceil(ms)));
  }
}

/** The same budget inside one process (tests, a bot without Redis). */
export class LocalRateBudget implements RateBudget {
  readonly #calls: number[] = [];
  #pausedUntil = 0;
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  acquire(signal?: { readonly aborted: boolean }): Promise<void> {
    return acquireWith(async () => {
      const now = Date.now();
      if (this.#pausedUntil > now) return this.#pausedUntil - now;
      while (this.#calls.length > 0 && (this.#calls[0] as number) <= now - this.windowMs) this.#calls.shift();
      if (this.#calls.length < this.limit) {
        this.#calls.push(now);
        return 0;
      }
      return Math.max(1, (this.#calls[0] as number) + this.windowMs - now);
    }, signal);
  }

  async pause(ms: number): Promise<void> {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
  }
}

/** chat.update is Tier 3, "50+ per minute" (docs/domain.md#posting-rates): 45 leaves room for a burst. */
export const CHAT_UPDATE_PER_MINUTE = 45;
