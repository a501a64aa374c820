import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TrainingMonitor } from '../../jobs/monitor-training.js';
import { ResvgChartRenderer } from '../../src/charts/chart-png.js';
import { silentLogger } from '../../src/logger.js';
import { QueueFactory } from '../../src/queue/queue-factory.js';
import { ChannelPacer } from '../../src/slack/channel-pacer.js';
import { SlackMessenger } from '../../src/slack/slack-messenger.js';
import { type TrainingCluster, trainingCluster } from '../fixtures/fake-trainer-harness.js';
import { FakeSlack } from '../helpers/fake-slack.js';

// The watch end to end: real Slurm runs the fake trainer, the durable watch posts through the bot's Slack
// messenger to a Slack Web API stand-in on loopback.

const tb = inject('testbed');
let cluster: TrainingCluster;
let fake: FakeSlack;
let factory: QueueFactory;
let monitor: TrainingMonitor;

beforeAll(async () => {
  cluster = await trainingCluster(tb, 'ssh');
  fake = await FakeSlack.start();
  fake.channel('C0TRAIN', { member: true });
  factory = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true });
  const messenger = new SlackMessenger(
    client,
    new ChannelPacer({ minIntervalMs: 50 }),
    silentLogger(),
    new ResvgChartRenderer(),
  );
  monitor = new TrainingMonitor({
    factory,
    files: cluster.files,
    slurm: cluster.slurm,
    neoxDir: cluster.neoxDir,
    messenger,
    log: silentLogger(),
    pollMs: 250,
  });
  monitor.start();
});
afterAll(async () => {
  await monitor?.close();
  await factory?.close(0);
  await fake?.stop();
  await cluster?.close();
});

describe('training updates in Slack', () => {
  it('posts the thread root, the 50-iteration report with a loss chart, a CUDA OOM escalation and the final state', async () => {
    const save = await cluster.saveDir('slack');
    const config = await cluster.config('slack', {
      'train-iters': 100,
      'log-interval': 1,
      save,
      fake_iter_ms: 20,
      fake_failure: 'cuda_oom',
      fake_fail_at: 60,
    });
    const { jobId, logPath } = await cluster.submitRaw(config, 'U0ALICE');
    await monitor.watch({
      jobId,
      logPath,
      configPath: config,
      save,
      saveInterval: 1000,
      submitter: 'U0ALICE',
      channel: 'C0TRAIN',
      threadTs: null,
    });
    const posts = await fake.waitFor(
      () => {
        const p = fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'C0TRAIN');
        return p.some((c) => String(c.params.text).includes('left the queue')) ? p : undefined;
      },
      45_000,
      'the final message',
    );
    const [root, ...rest] = posts;
    expect(root?.params.thread_ts).toBeUndefined();
    expect(String(root?.params.text)).toContain(`Watching training job ${jobId}`);
    const threadTs = rest[0]?.params.thread_ts;
    expect(threadTs).toBeDefined();
    for (const p of rest) expect(p.params.thread_ts).toBe(threadTs);
    const texts = rest.map((p) => `${String(p.params.text)}\n${JSON.stringify(p.params.blocks)}`);
    expect(texts.some((t) => t.includes('50+ iterations completed'))).toBe(true);
    const oom = texts.find((t) => t.includes('cuda_oom'));
    // The submitter is mentioned so Slack notifies them.
    expect(oom).toContain('<@U0ALICE>');
    expect(oom).toContain('will not change batch size');
    expect(texts.at(-1)).toContain('FAILED');
    // the loss curve went up as a PNG in the thread
    expect(fake.uploads.length).toBeGreaterThanOrEqual(1);
  });

  it('moves the thread to the submitter’s DM when the channel refuses the bot, and drops what no place takes without looping', async () => {
    const save = await cluster.saveDir('refused');
    const config = await cluster.config('refused', {
      'train-iters': 60,
      'log-interval': 1,
      save,
      fake_iter_ms: 10,
    });
    fake.channel('G0SECRET', { kind: 'private' });
    const a = await cluster.submitRaw(config, 'U0BOB');
    const b = await cluster.submitRaw(config, 'cli-user');
    const watch = (job: { jobId: string; logPath: string }, channel: string, submitter: string | null) =>
      monitor.watch({
        jobId: job.jobId,
        logPath: job.logPath,
        configPath: config,
        save,
        saveInterval: 1000,
        submitter,
        channel,
        threadTs: null,
      });
    await watch(a, 'G0SECRET', 'U0BOB');
    // A channel id made up or gone, and nobody to tell: each message is tried once, then dropped.
    await watch(b, 'C0GONE', null);
    const dm = await fake.waitFor(
      () => {
        const p = fake.messagesIn('D0BOB');
        return p.some((m) => m.text.includes('left the queue')) ? p : undefined;
      },
      45_000,
      'the final message in the DM',
    );
    expect(dm[0]?.text).toContain(`Watching training job ${a.jobId}`);
    expect(JSON.stringify(dm[0]?.blocks)).toContain(
      'I could not post this in <#G0SECRET> (channel_not_found)',
    );
    for (const m of dm.slice(1)) expect(m.threadTs).toBe(dm[0]?.ts);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'G0SECRET')).toHaveLength(1);
    const deadline = Date.now() + 45_000;
    while (!(await factory.queue('train-monitor').getJob(`train-${b.jobId}`))?.finishedOn) {
      if (Date.now() > deadline) throw new Error('the watch of a job in an unknown channel never ended');
      await new Promise((r) => setTimeout(r, 200));
    }
    const gone = fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'C0GONE').length;
    expect(gone).toBeGreaterThanOrEqual(2); // the thread root and the final state, at least
    await new Promise((r) => setTimeout(r, 1500)); // several polls later: nothing retried
    expect(fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'C0GONE')).toHaveLength(gone);
    expect(monitor.stats.undeliverable).toBe(gone);
  });
});
