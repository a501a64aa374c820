import type { Redis } from 'ioredis';

/**
 * Remembers which button clicks were already handled, so a double click (or Slack delivering the same
 * click to two replicas, or retrying it) runs the action once. `claim` answers true only for the first
 * caller of a key within `ttlMs`; `release` forgets a key, so a click that was refused can be made again.
 */
export interface ActionDedupe {
  claim(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

/**
 * Kept in Redis, where every replica and every restart of the bot sees it: one `SET key NX PX ttl` per
 * click, so of two replicas receiving the same click exactly one wins. `prefix` namespaces the keys
 * (QueueFactory.keyPrefix).
 */
export function redisActionDedupe(redis: Pick<Redis, 'set' | 'del'>, prefix: string): ActionDedupe {
  return {
    async claim(key, ttlMs) {
      return (await redis.set(`${prefix}${key}`, String(Date.now()), 'PX', ttlMs, 'NX')) === 'OK';
    },
    async release(key) {
      await redis.del(`${prefix}${key}`);
    },
  };
}

/** One process only (tests and surfaces without Redis): forgets everything on restart. */
export function memoryActionDedupe(now: () => number = Date.now): ActionDedupe {
  const until = new Map<string, number>();
  return {
    async claim(key, ttlMs) {
      const t = now();
      for (const [k, end] of until) if (end <= t) until.delete(k);
      if (until.has(key)) return false;
      until.set(key, t + ttlMs);
      return true;
    },
    async release(key) {
      until.delete(key);
    },
  };
}
