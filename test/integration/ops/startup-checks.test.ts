import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkRedisSettings } from '../../../src/queue/redis-check.js';
import { createRedisConnection } from '../../../src/queue/redis-connection.js';
import { type RedisService, type RedisStartOptions, startRedis } from '../../../src/sandbox/redis.js';
import { startBot } from './bot-process.js';

// The start-up check of Redis against real redis-servers started with the settings a careless (or managed)
// deployment has: an evicting policy, no persistence, CONFIG disabled.

const tb = inject('testbed');

describe('the start-up check of Redis', () => {
  let work: string;
  const servers: RedisService[] = [];
  const start = async (name: string, opts: RedisStartOptions) => {
    const r = await startRedis(work, { name, ...opts });
    servers.push(r);
    return r;
  };
  const check = async (r: RedisService) => {
    const c = createRedisConnection(r.info.url, 'command');
    try {
      return await checkRedisSettings(c);
    } finally {
      await c.quit();
    }
  };
  beforeAll(async () => {
    work = await mkdtemp(join(tb.dir, 'redis-check-'));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.daemon.stop()));
  });

  it('passes the Redis the bot is meant to run on (noeviction, AOF on)', async () => {
    expect(await check(await start('good', {}))).toEqual({ problems: [], warnings: [] });
  }, 30_000);

  it('refuses an evicting maxmemory-policy, naming the setting and how to change it', async () => {
    const r = await check(await start('lru', { maxmemoryPolicy: 'allkeys-lru' }));
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain('maxmemory-policy is allkeys-lru');
    expect(r.problems[0]).toContain('CONFIG SET maxmemory-policy noeviction');
    expect(r.problems[0]).toContain('redis.conf');
  }, 30_000);

  it('warns when persistence is off, and not when RDB snapshots are on', async () => {
    const off = await check(await start('nopersist', { appendonly: false, save: '' }));
    expect(off.problems).toEqual([]);
    expect(off.warnings).toHaveLength(1);
    expect(off.warnings[0]).toMatch(/persistence is off .*appendonly yes.*save 60 1000/);
    expect(await check(await start('rdb', { appendonly: false, save: '60 1000' }))).toEqual({
      problems: [],
      warnings: [],
    });
  }, 30_000);

  it('warns that nothing could be checked when CONFIG is disabled (managed Redis)', async () => {
    const r = await check(await start('managed', { disableCommands: ['CONFIG'] }));
    expect(r.problems).toEqual([]);
    expect(r.warnings[0]).toMatch(/could not check the Redis settings .*noeviction/);
  }, 30_000);

  it('the bot refuses to start on an evicting Redis: exit 2, the setting named, nothing started', async () => {
    const r = await start('bot-lru', { maxmemoryPolicy: 'volatile-lru' });
    const bot = startBot(
      {
        SLACK_MODE: 'http',
        SLACK_BOT_TOKEN: 'xoxb-check',
        SLACK_SIGNING_SECRET: 'check-signing-secret',
        CLUSTER_TRANSPORT: 'local',
        AUDIT_LOG: join(work, 'audit.jsonl'),
        REDIS_URL: r.info.url,
        OPS_PORT: '0',
      },
      work,
    );
    expect(await bot.exited).toBe(2);
    const { err } = bot.output();
    expect(err).toContain('Redis maxmemory-policy is volatile-lru, and BullMQ requires noeviction');
    expect(err).toContain('Nothing was started.');
    // Nothing was built: no queue keys were written.
    const c = createRedisConnection(r.info.url, 'command');
    expect(await c.keys('*')).toEqual([]);
    await c.quit();
  }, 180_000);
});
