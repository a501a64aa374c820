import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QueueFactory, type RedisConnectionChange } from '../../../src/queue/queue-factory.js';
import { freePort } from '../../../src/sandbox/free-port.js';
import { type RedisService, startRedis } from '../../../src/sandbox/redis.js';

// Redis killed with SIGKILL mid-queue (AOF on, as the start-up check asks) and started again on the same
// port and directory: the queue's clients reconnect by themselves, every job is done, and the loss is
// reported once and the return once, not once per client per retry.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis restarts under a running queue', () => {
  let dir: string;
  let server: RedisService | undefined;
  afterAll(async () => {
    await server?.daemon.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reconnects, loses no job, and says "lost" once and "back" once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'redis-restart-'));
    const port = await freePort();
    const start = async () => {
      server = await startRedis(dir, { port });
    };
    await start();

    const changes: RedisConnectionChange[] = [];
    const errors: string[] = [];
    const factory = new QueueFactory({
      redisUrl: `redis://127.0.0.1:${port}`,
      prefix: `t${Date.now()}`,
      onError: (err, source) => errors.push(`${source}: ${err.message}`),
      onConnection: (c) => changes.push(c),
    });
    const done = new Map<string, number>();
    try {
      const queue = factory.queue<{ n: number }>('work');
      factory.worker<{ n: number }>(
        'work',
        async (job) => {
          await sleep(100);
          done.set(String(job.data.n), (done.get(String(job.data.n)) ?? 0) + 1);
        },
        { concurrency: 2 },
      );
      for (let n = 0; n < 30; n++) await queue.add('w', { n }, { jobId: `job-${n}` });
      // AOF flushes every second: what was added before the kill is on disk.
      await sleep(1_200);
      expect(done.size).toBeLessThan(30);
      if (server) process.kill(server.daemon.pid, 'SIGKILL');
      await server?.daemon.exited;
      await sleep(2_000);
      expect(changes.map((c) => c.state)).toEqual(['lost']);
      await start();
      const until = Date.now() + 60_000;
      while (done.size < 30 && Date.now() < until) await sleep(100);
      expect([...done.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 30 }, (_, n) => String(n)),
      );
      expect(changes.map((c) => c.state)).toEqual(['lost', 'back']);
      expect((changes[1] as { downMs: number }).downMs).toBeGreaterThanOrEqual(2_000);
      // Every client saw ECONNREFUSED many times; none of it reached the error log.
      expect(errors).toEqual([]);
    } finally {
      await factory.close(1_000);
    }
  }, 120_000);
});
