import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { bucketOf, RedisScanStore, type StoredLog } from '../../../src/digest/scan-store.js';
import { parsePipelineLog } from '../../../src/pipeline/pipeline-log.js';
import { pipelineLogText } from '../../fixtures/pipeline/generate-logs.js';

const tb = inject('testbed');
const redis = new Redis(tb.redis.url);
afterAll(() => redis.quit());

const log = (job: number, kind: 'success' | 'fail_429' = 'success'): StoredLog => ({
  name: `checkpoint_pipeline_${job}.out`,
  size: 1000 + job,
  mtime: `1795575918.${job}`,
  mtimeMs: 1795575918000 + job,
  run: parsePipelineLog(pipelineLogText({ jobId: String(job), experiment: 'exp-s', step: job, kind }), {
    jobId: String(job),
  }),
});

describe('RedisScanStore against real Redis', () => {
  it('round-trips logs and the directory mtime to another process, across changes and removals', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const dir = '/logs/checkpoint_pipeline';
    const a = new RedisScanStore({ redis, prefix });
    expect(await a.load(dir)).toEqual({ logs: new Map(), dirMtime: null });
    const first = new Map(
      [1, 2, 3, 4, 5].map((j) => [log(j).name, log(j, j === 4 ? 'fail_429' : 'success')]),
    );
    await a.save(dir, first, [...first.keys()], '1795575000.5');

    const b = new RedisScanStore({ redis, prefix });
    const seen = await b.load(dir);
    expect(seen.dirMtime).toBe('1795575000.5');
    expect(seen.logs.size).toBe(5);
    for (const [name, l] of first) expect(seen.logs.get(name)).toStrictEqual(l);

    // One log changed, one gone, the directory no longer settled: b sees exactly that, a too.
    const next = new Map(first);
    next.delete(log(2).name);
    next.set(log(3).name, log(3, 'fail_429'));
    await b.save(dir, next, [log(2).name, log(3).name], null);
    for (const s of [a, new RedisScanStore({ redis, prefix })]) {
      const st = await s.load(dir);
      expect(st.dirMtime).toBeNull();
      expect([...st.logs.keys()].sort()).toEqual([1, 3, 4, 5].map((j) => log(j).name));
      expect(st.logs.get(log(3).name)?.run.outcome).toBe('failed');
    }
  });

  it('forgets only a line it cannot read (that log is read again)', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const dir = '/logs/x';
    const a = new RedisScanStore({ redis, prefix });
    const logs = new Map([7, 8].map((j) => [log(j).name, log(j)]));
    await a.save(dir, logs, [...logs.keys()], null);
    const field = String(bucketOf(log(7).name));
    const value = await redis.hget(a.key(dir), field);
    await redis.hset(a.key(dir), field, `${value}\ncheckpoint_pipeline_9.out\t["not", "a log"]\nno tab here`);
    await redis.incr(`${a.key(dir)}:v`);
    const st = await new RedisScanStore({ redis, prefix }).load(dir);
    expect([...st.logs.keys()].sort()).toEqual([log(7).name, log(8).name]);
  });
});
