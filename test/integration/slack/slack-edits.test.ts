import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { ChannelPacer } from '../../../src/slack/channel-pacer.js';
import { slackClientOptions } from '../../../src/slack/create-slack-messenger.js';
import { RedisRateBudget } from '../../../src/slack/rate-budget.js';
import { SlackMessenger } from '../../../src/slack/slack-messenger.js';
import { BatchThreads } from '../../../src/uploads/batch-progress.js';
import { FakeSlack } from '../../helpers/fake-slack.js';

// Edits against the strict stand-in with the testbed's Redis: one chat.update budget for every replica,
// the latest content of a message wins, and a long upload batch stays a message Slack accepts.

const tb = inject('testbed');
let fake: FakeSlack;
const redises: Redis[] = [];
const prefix = `t${randomUUID().slice(0, 8)}:`;

const replica = (budget?: { max: number; windowMs: number }, product = false) => {
  const redis = new Redis(tb.redis.url);
  redises.push(redis);
  const client = new WebClient(
    'xoxb-test',
    // The product's client settings: its retries give up within seconds, which an outage outlasts.
    product
      ? slackClientOptions({ SLACK_API_URL: fake.apiUrl })
      : { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true },
  );
  return new SlackMessenger(client, new ChannelPacer({ minIntervalMs: 20 }), silentLogger(), undefined, {
    redis,
    keyPrefix: prefix,
    ...(budget
      ? {
          updateBudget: new RedisRateBudget(
            redis,
            `${prefix}budget:chat.update`,
            budget.max,
            budget.windowMs,
          ),
        }
      : {}),
  });
};

beforeAll(async () => {
  fake = await FakeSlack.start();
  fake.channel('C0UP', { member: true });
});
afterAll(async () => {
  for (const r of redises) r.disconnect();
  await fake?.stop();
});

describe('chat.update within one workspace-wide budget', () => {
  it('two replicas editing many messages stay under the tier together: no 429, every message ends current', async () => {
    // Slack's tier scaled down: 10 edits per 2 s. The replicas share a budget of 8 per 2.5 s through Redis
    // (a call is counted when it leaves and arrives a little later, so the budget's window is the longer).
    fake.updateTier(10, 2000);
    const a = replica({ max: 8, windowMs: 2500 });
    const b = replica({ max: 8, windowMs: 2500 });
    const posted = await Promise.all(
      [a, a, a, b, b, b].map((m, i) => m.post({ channel: 'C0UP' }, { text: `message ${i}: 0` })),
    );
    const t0 = Date.now();
    await Promise.all(
      posted.map(async (p, i) => {
        const m = i < 3 ? a : b;
        for (let n = 1; n <= 4; n++) await m.update(p, { text: `message ${i}: ${n}` });
      }),
    );
    const ms = Date.now() - t0;
    expect(fake.refusals.filter((r) => r.method === 'chat.update')).toEqual([]);
    for (const [i, p] of posted.entries())
      expect(fake.messages.get(`C0UP|${p.ts}`)?.text).toBe(`message ${i}: 4`);
    // 24 edits at 8 per 2.5 s take at least two windows.
    expect(ms).toBeGreaterThanOrEqual(5000);
    fake.updateTier(50, 60_000);
  }, 30_000);

  it('sends only the latest content of a message while its edit waits', async () => {
    const m = replica();
    const p = await m.post({ channel: 'C0UP' }, { text: 'v0' });
    const before = fake.callsTo('chat.update').length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => m.update(p, { text: `v${i + 1}` })));
    const calls = fake.callsTo('chat.update').slice(before);
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(fake.messages.get(`C0UP|${p.ts}`)?.text).toBe('v20');
    expect(m.stats.coalesced).toBeGreaterThanOrEqual(17);
  });
});

describe('an upload batch of 300 steps', () => {
  it('keeps its message compact and accepted, attaches the per-step table, and closes even when an edit is refused', async () => {
    const m = replica();
    const redis = new Redis(tb.redis.url);
    redises.push(redis);
    const errors: unknown[] = [];
    const batches = new BatchThreads(redis, prefix, m, 60_000, (e) => errors.push(e));
    const name = `pythia-${'deduplicated-'.repeat(12)}run`;
    const steps = Array.from({ length: 300 }, (_, i) => (i + 1) * 1000);
    const root = await batches.start({
      batchId: 'b1',
      channel: 'C0UP',
      experiment: name,
      steps,
      requestedBy: 'U0ALICE',
    });
    for (const [i, s] of steps.entries()) {
      const event =
        i < 200
          ? ({ kind: 'succeeded', slurmJobId: String(i), repos: [`org/${name}-step${s}`] } as const)
          : i < 290
            ? ({ kind: 'waiting', why: 'Hub pause until 12:00:00 UTC (rate limited)', until: 0 } as const)
            : ({ kind: 'failed', reason: `rate limited; retries exhausted for global_step${s}` } as const);
      await batches.report('b1', `${name}@${s}`, event);
    }
    await batches.flush('b1');
    const msg = fake.messages.get(`C0UP|${root.ts}`);
    expect(msg?.edits).toBe(1);
    const blocks = JSON.stringify(msg?.blocks);
    const header = (msg?.blocks[0] as { text?: { text: string } } | undefined)?.text?.text ?? '';
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header.endsWith(': 200/300 uploaded')).toBe(true);
    expect(blocks).toContain('Hub pause until 12:00:00 UTC');
    expect(blocks).toContain('step 291000: rate limited; retries exhausted');
    expect(blocks).toContain(
      '300 steps: the full per-step table is attached to the closing message in the thread.',
    );
    expect(fake.refusals.filter((r) => r.channel === 'C0UP')).toEqual([]);

    // The rest finish, but Slack refuses the last edit: the batch still closes.
    for (const s of steps.slice(200, 290))
      await batches.report('b1', `${name}@${s}`, { kind: 'succeeded', slurmJobId: 'x', repos: ['org/r'] });
    fake.refuseNext('chat.update', 'msg_blocks_too_long');
    await batches.flush('b1');
    expect(fake.refusals.at(-1)).toMatchObject({ method: 'chat.update', error: 'msg_blocks_too_long' });
    expect(errors).toHaveLength(1);
    const closing = fake.messagesIn('C0UP').find((x) => x.threadTs === root.ts);
    expect(closing?.text).toContain(`All 300 uploads of \`${name}\` finished: 290 uploaded, 10 failed.`);
    const csv = await fake.waitFor(() => fake.files.find((f) => f.threadTs === root.ts), 10_000, 'the CSV');
    const lines = csv.data.toString('utf8').trim().split('\r\n');
    expect(lines).toHaveLength(301);
    expect(lines[1]).toBe(`1000,uploaded,org/${name}-step1000`);
  });
});

describe('a message posted once, whatever the process that retries it', () => {
  it('posts a `once` message a single time, even from another replica after a crash, and answers where it went', async () => {
    const first = replica();
    const again = replica();
    const target = { channel: 'C0UP', once: `watch:${randomUUID()}:0` };
    const a = await first.post(target, { text: 'Job 7: 50+ iterations completed' });
    // The process died before it recorded the post: the next one posts the same message again.
    const b = await again.post(target, { text: 'Job 7: 50+ iterations completed' });
    expect(b).toEqual(a);
    expect(fake.messagesIn('C0UP').filter((m) => m.text === 'Job 7: 50+ iterations completed')).toHaveLength(
      1,
    );
    // Another message of the same watch is its own.
    await again.post(
      { channel: 'C0UP', once: `${target.once.slice(0, -1)}1` },
      { text: 'Job 7 left the queue' },
    );
    expect(fake.messagesIn('C0UP').filter((m) => m.text === 'Job 7 left the queue')).toHaveLength(1);
  });
});

describe('an upload batch through a Slack outage and a crash', () => {
  const steps = [100, 200, 300];
  const succeed = (b: BatchThreads, batchId: string, s: number) =>
    b.report(batchId, `exp@${s}`, { kind: 'succeeded', slurmJobId: String(s), repos: [`org/exp-step${s}`] });
  const closingOf = (rootTs: string) =>
    fake
      .messagesIn('C0UP')
      .filter((x) => x.threadTs === rootTs && x.text.includes('uploads of `exp` finished'));

  it('sends its last edit and its closing reply once Slack answers again', async () => {
    const redis = new Redis(tb.redis.url);
    redises.push(redis);
    const errors: unknown[] = [];
    const batches = new BatchThreads(redis, prefix, replica(undefined, true), 200, (e) => errors.push(e));
    const root = await batches.start({
      batchId: 'out1',
      channel: 'C0UP',
      experiment: 'exp',
      steps,
      requestedBy: 'U0A',
    });
    // Slack answers every call with a 503 for 1.5 s, across the batch's end.
    fake.outage(1_500);
    for (const s of steps) await succeed(batches, 'out1', s);
    const closing = await fake.waitFor(
      () => (closingOf(root.ts).length > 0 ? closingOf(root.ts) : undefined),
      15_000,
      'the closing reply after the outage',
    );
    expect(fake.outageAnswers.get('chat.update') ?? 0).toBeGreaterThan(0);
    expect(closing[0]?.text).toContain('All 3 uploads of `exp` finished: 3 uploaded, 0 failed.');
    const header = JSON.stringify(fake.messages.get(`C0UP|${root.ts}`)?.blocks);
    expect(header).toContain('Uploads of exp: 3/3 uploaded');
    expect(errors.length).toBeGreaterThan(0); // the failed tries were reported, not swallowed
    await new Promise((r) => setTimeout(r, 1_000));
    expect(closingOf(root.ts)).toHaveLength(1);
    batches.stop();
  });

  it('is closed by the next worker when the process that saw its end died before its edit', async () => {
    const redis = new Redis(tb.redis.url);
    redises.push(redis);
    const dying = new BatchThreads(redis, prefix, replica(undefined, true), 60_000);
    const root = await dying.start({
      batchId: 'crash1',
      channel: 'C0UP',
      experiment: 'exp',
      steps,
      requestedBy: 'U0A',
    });
    for (const s of steps) await succeed(dying, 'crash1', s);
    dying.stop(); // its scheduled edit dies with it
    expect(closingOf(root.ts)).toHaveLength(0);
    // Two workers start; each reopens the open batches. One closing reply between them.
    const next = [
      new BatchThreads(redis, prefix, replica(undefined, true), 200),
      new BatchThreads(redis, prefix, replica(undefined, true), 200),
    ];
    await Promise.all(next.map((b) => b.recover()));
    expect(closingOf(root.ts)).toHaveLength(1);
    expect(JSON.stringify(fake.messages.get(`C0UP|${root.ts}`)?.blocks)).toContain(
      'Uploads of exp: 3/3 uploaded',
    );
    // Closed: a later start has nothing left to do.
    await next[0]?.recover();
    expect(closingOf(root.ts)).toHaveLength(1);
    for (const b of next) b.stop();
  });
});
