import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TrainingMonitor } from '../../../jobs/monitor-training.js';
import { silentLogger } from '../../../src/logger.js';
import type { FailureKind } from '../../../src/neox/failure-kinds.js';
import { ACTION } from '../../../src/neox/failure-kinds.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import { submitTraining } from '../../../src/training/submit-training.js';
import {
  CollectingMessenger,
  type TrainingCluster,
  trainingCluster,
  waitFor,
} from '../../fixtures/fake-trainer-harness.js';

const tb = inject('testbed');
const SUBMITTER = 'U0SUBMIT';

let cluster: TrainingCluster;
let factory: QueueFactory;
let monitor: TrainingMonitor;
const messenger = new CollectingMessenger();

beforeAll(async () => {
  cluster = await trainingCluster(tb, 'local');
  factory = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  monitor = new TrainingMonitor({
    factory,
    files: cluster.files,
    slurm: cluster.slurm,
    messenger,
    neoxDir: cluster.neoxDir,
    log: silentLogger(),
    pollMs: 250,
    options: { stall: { k: 5, minMs: 1500 }, lightEvery: 2 },
  });
  monitor.start();
});
afterAll(async () => {
  await monitor?.close();
  await factory?.close(0);
  await cluster?.close();
});

async function watch(
  jobId: string,
  logPath: string,
  extra: { configPath?: string; save?: string | null; saveInterval?: number | null } = {},
) {
  await monitor.watch({
    jobId,
    logPath,
    configPath: extra.configPath ?? null,
    save: extra.save ?? null,
    saveInterval: extra.saveInterval ?? null,
    submitter: SUBMITTER,
    channel: 'C0TRAIN',
    threadTs: null,
  });
}

const finalOf = (jobId: string) =>
  waitFor(`final report of ${jobId}`, () =>
    messenger.forJob(jobId).find((p) => (p.reply.data as { event: string }).event === 'final'),
  );

describe('the training watch on real Slurm', () => {
  it('a healthy run: one thread, the 50-iteration report, the first checkpoint, the final state', async () => {
    const save = await cluster.saveDir('healthy');
    const config = await cluster.config('healthy', {
      'train-iters': 90,
      'log-interval': 1,
      'save-interval': 60,
      save,
      fake_iter_ms: 25,
    });
    const sub = await submitTraining(cluster.submitDeps, { config, requestedBy: SUBMITTER });
    expect(sub.kind).toBe('submitted');
    if (sub.kind !== 'submitted') return;
    await watch(sub.jobId, sub.logPath, { configPath: config, save, saveInterval: 60 });
    const final = await finalOf(sub.jobId);
    const posts = messenger.forJob(sub.jobId);
    expect(posts.map((p) => (p.reply.data as { event: string }).event)).toEqual(
      expect.arrayContaining(['watch_started', 'report50', 'final']),
    );
    const events = messenger.events(sub.jobId);
    expect(events.filter((e) => e === 'report50')).toHaveLength(1);
    expect(events).not.toContain('finding');
    // Everything after the first message is in its thread.
    const root = posts[0];
    expect(root?.target.threadTs).toBeUndefined();
    for (const p of posts.slice(1)) expect(p.target.threadTs).toBe(root?.ts);
    const report = posts.find((p) => (p.reply.data as { event: string }).event === 'report50');
    const data = report?.reply.data as { lastIteration: number; trainIters: number; recentLosses: unknown[] };
    expect(data.lastIteration).toBeGreaterThanOrEqual(50);
    expect(data.trainIters).toBe(90);
    expect(data.recentLosses.length).toBeGreaterThan(0);
    expect(report?.reply.fields?.find((f) => f.label === 'ETA')?.value).toMatch(/\d+s|—/);
    expect(report?.reply.chart?.series[0]?.points.length).toBeGreaterThan(10);
    expect(final.reply.title).toContain('COMPLETED');
    expect(final.reply.code).toContain('training finished');
    // The checkpoint was reported, either in the 50-iteration report or on its own once it appeared.
    const ckptSeen =
      events.includes('checkpoint') ||
      (report?.reply.data as { checkpoint: string | null } | undefined)?.checkpoint === 'global_step60';
    expect(ckptSeen).toBe(true);
    // The log was read once: bytes read equal the log's size.
    const stored = await monitor.get(sub.jobId);
    const size = (await readFile(sub.logPath)).length;
    expect(stored?.offset).toBe(size);
    expect(stored?.bytesRead).toBe(size);
  });

  it('a transient NCCL timeout: says what it watches for, then that iterations resumed', async () => {
    const save = await cluster.saveDir('nccl-recover');
    const config = await cluster.config('nccl-recover', {
      'train-iters': 30,
      'log-interval': 1,
      save,
      fake_iter_ms: 30,
      fake_failure: 'nccl_timeout',
      fake_fail_at: 8,
      fake_nccl_recover: true,
    });
    const { jobId, logPath } = await cluster.submitRaw(config, SUBMITTER);
    await watch(jobId, logPath, { configPath: config, save });
    const final = await finalOf(jobId);
    expect(final.reply.title).toContain('COMPLETED');
    const events = messenger.events(jobId);
    expect(events.indexOf('finding')).toBeGreaterThan(-1);
    expect(events.indexOf('resumed')).toBeGreaterThan(events.indexOf('finding'));
    const resumed = messenger
      .forJob(jobId)
      .find((p) => (p.reply.data as { event: string }).event === 'resumed');
    expect(resumed?.reply.text).toMatch(/iterations resumed after the nccl_timeout: now at iteration \d+/);
  });

  type Case = { kind: FailureKind; settings: Record<string, unknown>; expectText: RegExp; save?: number[] };
  const cases: Case[] = [
    {
      kind: 'cuda_oom',
      settings: { fake_failure: 'cuda_oom', fake_fail_at: 8 },
      expectText: /will not change batch size/,
    },
    {
      kind: 'host_oom',
      settings: { fake_failure: 'host_oom', fake_fail_at: 8 },
      expectText: /will not change/,
    },
    {
      kind: 'nan_loss',
      settings: { fake_failure: 'nan_loss', fake_fail_at: 6, 'train-iters': 12 },
      expectText: /will not change/,
    },
    {
      kind: 'loss_spike',
      settings: { fake_failure: 'loss_spike', fake_fail_at: 8, 'train-iters': 12 },
      expectText: /will not change/,
    },
    {
      kind: 'checkpoint_load_skipped',
      settings: { fake_failure: 'checkpoint_load_skipped', 'train-iters': 5 },
      save: [],
      expectText: /step 0/,
    },
    { kind: 'checkpoint_not_found', settings: { iteration: 150 }, save: [100], expectText: /iteration: 100/ },
    { kind: 'data_path_not_found', settings: { 'data-path': 'TYPO' }, expectText: /Nearest existing data/ },
    { kind: 'module_not_found', settings: { fake_failure: 'module_not_found' }, expectText: /venv/ },
    {
      kind: 'nccl_timeout',
      settings: { fake_failure: 'nccl_timeout', fake_fail_at: 8 },
      expectText: /keeps watching/,
    },
    {
      kind: 'time_limit',
      settings: { fake_failure: 'time_limit', fake_fail_at: 8 },
      expectText: /time limit/,
    },
    {
      kind: 'unknown_error',
      settings: { fake_failure: 'unknown_error', fake_fail_at: 8 },
      expectText: /will not change/,
    },
    {
      kind: 'stalled',
      settings: { fake_failure: 'stalled', fake_fail_at: 12 },
      expectText: /will not change/,
    },
  ];

  it.concurrent.each(cases)('$kind: diagnosed once, with its action, then the final state', async (c) => {
    const save = await cluster.saveDir(`fail-${c.kind}`, c.save ?? []);
    const settings: Record<string, unknown> = {
      'train-iters': 40,
      'log-interval': 1,
      save,
      fake_iter_ms: 30,
      ...c.settings,
    };
    if (c.save) settings.load = save;
    if (settings['data-path'] === 'TYPO')
      settings['data-path'] = cluster.dataPrefix.replace('corpus_text', 'corpus_txt');
    const config = await cluster.config(`fail-${c.kind}`, settings);
    const { jobId, logPath } = await cluster.submitRaw(config, SUBMITTER);
    await watch(jobId, logPath, { configPath: config, save });
    const finding = await waitFor(`${c.kind} finding`, () =>
      messenger.forJob(jobId).find((p) => (p.reply.data as { event: string }).event === 'finding'),
    );
    const f = (finding.reply.data as { finding: { kind: string; action: string } }).finding;
    expect(f).toMatchObject({ kind: c.kind, action: ACTION[c.kind] });
    expect(`${finding.reply.text}`).toMatch(c.expectText);
    if (ACTION[c.kind] === 'escalate') expect(finding.reply.text).toContain(`<@${SUBMITTER}>`);
    if (c.kind === 'checkpoint_not_found') {
      expect(finding.reply.buttons?.[0]).toMatchObject({
        actionId: 'train.resubmit',
        value: `${jobId} iteration=100`,
      });
    }
    if (c.kind === 'stalled' || c.kind === 'nan_loss') await cluster.slurm.cancel(jobId);
    const final = await finalOf(jobId);
    expect(final.reply.title).toMatch(/left the queue/);
    const events = messenger.events(jobId);
    expect(events.filter((e) => e === 'finding')).toHaveLength(1);
    expect(events.filter((e) => e === 'final')).toHaveLength(1);
  });
});
