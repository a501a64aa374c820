import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import { UploadGate } from '../../../src/uploads/upload-gate.js';

// The gate against the testbed's real Redis, with a clock we move by hand.

const tb = inject('testbed');
let factory: QueueFactory | undefined;
afterEach(async () => {
  await factory?.close(0);
  factory = undefined;
});

function gate(limit: number, windowMs: number) {
  factory = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  const clock = { now: 1_000_000 };
  const g = new UploadGate(
    factory.redis(),
    factory.keyPrefix('ckpt-upload'),
    { budget: { limit, windowMs, marginMs: 0 }, lockTtlMs: 5_000, lockRecheckMs: 1_000 },
    () => clock.now,
  );
  return { g, clock };
}

describe('UploadGate', () => {
  it('admits at most `limit` commits in any window and says when the next one fits', async () => {
    const { g, clock } = gate(3, 10_000);
    const req = (jobId: string, cost = 1) => g.admit({ jobId, experiment: jobId, singleton: false, cost });
    expect(await req('a')).toEqual({ ok: true });
    clock.now += 2_000;
    expect(await req('b', 2)).toEqual({ ok: true });
    clock.now += 1_000;
    expect(await req('c')).toEqual({ ok: false, why: 'budget', retryAt: 1_000_000 + 10_000 });
    clock.now = 1_000_000 + 10_000;
    expect(await req('c')).toEqual({ ok: true });
    expect(await g.budgetUsed()).toBe(3);
  });

  it('serializes an experiment: a second upload waits until the first releases', async () => {
    const { g } = gate(10, 10_000);
    expect(await g.admit({ jobId: 'e@1', experiment: 'e', singleton: true, cost: 1 })).toEqual({ ok: true });
    const second = await g.admit({ jobId: 'e@2', experiment: 'e', singleton: true, cost: 1 });
    expect(second).toMatchObject({ ok: false, why: 'experiment-busy', holder: 'e@1' });
    expect(await g.waiters('e')).toEqual(['e@2']);
    // Another experiment is not held up; the holder itself is re-admitted (a resumed job).
    expect(await g.admit({ jobId: 'f@1', experiment: 'f', singleton: true, cost: 1 })).toEqual({ ok: true });
    expect(await g.acquireLock('e', 'e@1')).toBe('e@1');
    await g.releaseLock('e', 'e@2'); // not the holder: no effect
    expect(await g.lockHolder('e')).toBe('e@1');
    await g.releaseLock('e', 'e@1');
    expect(await g.admit({ jobId: 'e@2', experiment: 'e', singleton: true, cost: 1 })).toEqual({ ok: true });
    expect(await g.waiters('e')).toEqual([]);
  });

  it('a 429 pause stops every start until it ends, and is only ever extended', async () => {
    const { g, clock } = gate(10, 10_000);
    await g.pauseUntil(clock.now + 30_000, 'HTTP 429 from the Hub');
    await g.pauseUntil(clock.now + 5_000, 'shorter: ignored');
    const r = await g.admit({ jobId: 'x@1', experiment: 'x', singleton: true, cost: 1 });
    expect(r).toMatchObject({
      ok: false,
      why: 'paused',
      retryAt: 1_030_000,
      pause: { reason: 'HTTP 429 from the Hub' },
    });
    expect(await g.lockHolder('x')).toBeNull();
    clock.now += 30_000;
    expect(await g.pause()).toBeNull();
    expect(await g.admit({ jobId: 'x@1', experiment: 'x', singleton: true, cost: 1 })).toEqual({ ok: true });
  });
});
