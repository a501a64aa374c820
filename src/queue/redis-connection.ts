import type { Redis, RedisOptions } from 'ioredis';
import { redisLibrary } from './load-queue-libraries.js';

/**
 * `blocking`: BullMQ workers and QueueEvents. They must wait out a Redis restart instead of failing, so
 * `maxRetriesPerRequest: null` (BullMQ refuses worker connections without it).
 * `command`: producers and readers behind a slash command — fail fast so a dead Redis becomes an error
 * message instead of a command that never answers.
 */
export type RedisRole = 'blocking' | 'command';

export function createRedisConnection(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === 'blocking'
      ? { maxRetriesPerRequest: null, enableReadyCheck: false }
      : { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5_000 };
  return new (redisLibrary().Redis)(url, { ...base, ...extra, lazyConnect: false });
}
