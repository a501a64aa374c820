import type { Redis } from 'ioredis';

// What the bot needs from its Redis before it starts (docs/domain.md#operating-the-bot): BullMQ requires
// `maxmemory-policy noeviction` (an evicted key silently loses a job or a lock), and without persistence
// (AOF or RDB snapshots) a Redis restart forgets every queued upload and watch.

export interface RedisSettingsReport {
  /** Settings the bot refuses to start with. */
  readonly problems: readonly string[];
  /** Settings it starts with, saying what to change. */
  readonly warnings: readonly string[];
}

/**
 * CONFIG GET the eviction policy and persistence. Managed Redis services may refuse CONFIG: then nothing
 * can be checked, and a warning says so instead of refusing to start.
 */
export async function checkRedisSettings(redis: Redis): Promise<RedisSettingsReport> {
  let policy: string | undefined;
  let appendonly: string | undefined;
  let save: string | undefined;
  try {
    policy = await configGet(redis, 'maxmemory-policy');
    appendonly = await configGet(redis, 'appendonly');
    save = await configGet(redis, 'save');
  } catch (e) {
    return {
      problems: [],
      warnings: [
        `could not check the Redis settings (CONFIG GET was refused: ${(e as Error).message}). Make sure ` +
          'maxmemory-policy is noeviction (BullMQ requires it) and that persistence (appendonly yes, or save) is on.',
      ],
    };
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  if (policy !== undefined && policy !== 'noeviction') {
    problems.push(
      `Redis maxmemory-policy is ${policy}, and BullMQ requires noeviction: an evicted key loses a job or a ` +
        'lock without an error. Set it with `CONFIG SET maxmemory-policy noeviction` (and ' +
        '`maxmemory-policy noeviction` in redis.conf so it survives a restart).',
    );
  }
  if (appendonly !== 'yes' && (save === undefined || save.trim() === '')) {
    warnings.push(
      'Redis persistence is off (appendonly no and no save points): a Redis restart forgets every queued ' +
        'upload, training watch and pause. Turn on `appendonly yes` (or RDB snapshots, e.g. `save 60 1000`) ' +
        'in redis.conf or with CONFIG SET.',
    );
  }
  return { problems, warnings };
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', name)) as unknown;
  // ioredis answers CONFIG GET with a flat [name, value] list.
  if (Array.isArray(reply) && reply.length >= 2) return String(reply[1]);
  return undefined;
}
