import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { memoryActionDedupe, redisActionDedupe } from '../../../src/slack/action-dedupe.js';

// The click memory every replica shares: real Redis, a connection per "process".

const tb = inject('testbed');
const clients: Redis[] = [];
const connect = () => {
  const r = new Redis(tb.redis.url);
  clients.push(r);
  return r;
};
afterEach(async () => {
  for (const c of clients.splice(0)) await c.quit();
});

describe('button click memory', () => {
  it('one of two replicas claiming the same click at once wins, and a restart still remembers it', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}:slack-actions:`;
    const a = redisActionDedupe(connect(), prefix);
    const b = redisActionDedupe(connect(), prefix);
    const wins = await Promise.all([a.claim('click-1', 60_000), b.claim('click-1', 60_000)]);
    expect(wins.filter(Boolean)).toHaveLength(1);
    // A replica started afterwards (a restart) with a fresh connection sees the click as handled.
    const restarted = redisActionDedupe(connect(), prefix);
    expect(await restarted.claim('click-1', 60_000)).toBe(false);
    expect(await restarted.claim('click-2', 60_000)).toBe(true);
  });

  it('a released click can be made again; a remembered one is forgotten after its time', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}:slack-actions:`;
    const d = redisActionDedupe(connect(), prefix);
    expect(await d.claim('refused', 60_000)).toBe(true);
    await d.release('refused');
    expect(await d.claim('refused', 60_000)).toBe(true);
    expect(await d.claim('short', 150)).toBe(true);
    expect(await d.claim('short', 150)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await d.claim('short', 150)).toBe(true);
  });

  it('the in-memory stand-in behaves the same within one process', async () => {
    let now = 1_000;
    const d = memoryActionDedupe(() => now);
    expect(await d.claim('x', 100)).toBe(true);
    expect(await d.claim('x', 100)).toBe(false);
    now += 101;
    expect(await d.claim('x', 100)).toBe(true);
    await d.release('x');
    expect(await d.claim('x', 100)).toBe(true);
  });
});
