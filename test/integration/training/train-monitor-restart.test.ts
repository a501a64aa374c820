import { randomUUID } from 'node:crypto';
import { appendFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TrainingMonitor } from '../../../jobs/monitor-training.js';
import { silentLogger } from '../../../src/logger.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import {
  CollectingMessenger,
  type TrainingCluster,
  trainingCluster,
  waitFor,
} from '../../fixtures/fake-trainer-harness.js';

const tb = inject('testbed');
let cluster: TrainingCluster;
const factories: QueueFactory[] = [];

beforeAll(async () => {
  cluster = await trainingCluster(tb, 'ssh');
});
afterAll(async () => {
  for (const f of factories) await f.close(0);
  await cluster?.close();
});

function startMonitor(prefix: string, messenger: CollectingMessenger) {
  const factory = new QueueFactory({ redisUrl: tb.redis.url, prefix });
  factories.push(factory);
  const monitor = new TrainingMonitor({
    factory,
    files: cluster.files,
    slurm: cluster.slurm,
    messenger,
    neoxDir: cluster.neoxDir,
    log: silentLogger(),
    pollMs: 200,
    lockDurationMs: 1500,
    options: { stall: { k: 10, minMs: 20_000 } },
  });
  monitor.start();
  return { factory, monitor };
}

const event = (p: { reply: { data?: unknown } }) => (p.reply.data as { event: string }).event;

describe('durable training watch', () => {
  it('a bot restart in the middle of a watch loses and repeats nothing', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const messenger = new CollectingMessenger();
    const a = startMonitor(prefix, messenger);
    const save = await cluster.saveDir('restart');
    const config = await cluster.config('restart', {
      'train-iters': 140,
      'log-interval': 1,
      'save-interval': 100,
      save,
      fake_iter_ms: 40,
    });
    const { jobId, logPath } = await cluster.submitRaw(config);
    await a.monitor.watch({
      jobId,
      logPath,
      configPath: config,
      save,
      saveInterval: 100,
      submitter: 'U0SUBMIT',
      channel: 'C0TRAIN',
      threadTs: null,
    });
    // Crash once the watch has read part of the log, before the 50-iteration report.
    const mid = await waitFor('the watch to read some iterations', async () => {
      const d = await a.monitor.get(jobId);
      return d && (d.scan.lastIteration ?? 0) >= 10 ? d : undefined;
    });
    expect(mid.reported.report50).toBe(false);
    await a.monitor.kill();
    const postsBefore = messenger.posts.length;
    // A new process (same Redis, same queue prefix) picks the watch up where the last stored state left it.
    const b = startMonitor(prefix, messenger);
    const final = await waitFor(
      'the final report',
      () => messenger.posts.find((p) => event(p) === 'final'),
      60_000,
    );
    expect(postsBefore).toBeGreaterThanOrEqual(1);
    const events = messenger.forJob(jobId).map(event);
    expect(events.filter((e) => e === 'watch_started')).toHaveLength(1);
    expect(events.filter((e) => e === 'report50')).toHaveLength(1);
    expect(events.filter((e) => e === 'final')).toHaveLength(1);
    expect(events).not.toContain('finding');
    const root = messenger.posts[0];
    for (const p of messenger.posts.slice(1)) expect(p.target.threadTs).toBe(root?.ts);
    expect(final.reply.title).toContain('COMPLETED');
    const d = await b.monitor.get(jobId);
    const size = (await readFile(logPath)).length;
    expect(d?.offset).toBe(size);
    // Nothing was read twice across the two processes' stored progress.
    expect(d?.bytesRead).toBe(size);
    expect(d?.scan.iterationsLogged).toBe(140);
  });

  it('a bot that died while sbatch ran leaves the job to the next one, which watches it', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const messenger = new CollectingMessenger();
    const a = startMonitor(prefix, messenger);
    const save = await cluster.saveDir('orphan');
    const config = await cluster.config('orphan', {
      'train-iters': 60,
      'log-interval': 1,
      'save-interval': 100,
      save,
      fake_iter_ms: 20,
    });
    const req = {
      configPath: config,
      save,
      saveInterval: 100,
      submitter: 'U0SUBMIT',
      channel: 'C0ORPHAN',
      threadTs: null,
    };
    const template = join(cluster.logsDir, 'training', 'neox-training-%j.out');
    // The submit records its watch, sbatch runs (the comment is the request's own)… and the process dies.
    const token = randomUUID().slice(0, 8);
    await a.monitor.expect(`chatops:U0SUBMIT:${token}`, req, template);
    const { jobId } = await cluster.submitRaw(config, `U0SUBMIT:${token}`);
    // And one whose sbatch never ran.
    await a.monitor.expect(`chatops:U0SUBMIT:never-${token}`, req, template);
    await a.monitor.kill();

    const b = startMonitor(prefix, messenger);
    expect(await b.monitor.adoptSubmits(0)).toBe(1);
    const final = await waitFor(
      'the adopted watch to end',
      () => messenger.forJob(jobId).find((p) => event(p) === 'final'),
      60_000,
    );
    expect(final.target.channel).toBe('C0ORPHAN');
    const events = messenger.forJob(jobId).map(event);
    expect(events.filter((e) => e === 'watch_started')).toHaveLength(1);
    expect(events.filter((e) => e === 'report50')).toHaveLength(1);
    // Both records are done with: a later start adopts nothing.
    expect(await b.monitor.adoptSubmits(0)).toBe(0);
    expect(
      messenger.posts.filter((p) => p.target.channel === 'C0ORPHAN' && event(p) === 'watch_started'),
    ).toHaveLength(1);
  });

  it('handles truncation (copytruncate) and rotation (a new file) of the log', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const messenger = new CollectingMessenger();
    const { monitor } = startMonitor(prefix, messenger);
    // A real Slurm job keeps the watch alive; the log is a file this test writes like a trainer would.
    const sleeper = join(cluster.work, 'sleep.sbatch');
    await writeFile(sleeper, '#!/bin/bash\nsleep 60\n', { mode: 0o755 });
    const { jobId } = await cluster.slurm.submit({
      script: sleeper,
      jobName: 'sleeper',
      output: '/dev/null',
    });
    const logPath = join(cluster.logsDir, 'training', `rotating-${jobId}.out`);
    const lines = (
      await readFile(join(import.meta.dirname, '..', '..', 'fixtures', 'neox', 'healthy-basic.log'), 'utf8')
    ).split('\n');
    const iterLines = lines.filter((l) => l.includes('| iteration '));
    await writeFile(logPath, `${lines.slice(0, 40).join('\n')}\n`);
    await monitor.watch({
      jobId,
      logPath,
      configPath: null,
      save: null,
      saveInterval: null,
      submitter: null,
      channel: 'C0ROT',
      threadTs: null,
    });
    await appendFile(logPath, `${iterLines.slice(0, 20).join('\n')}\n`);
    const size1 = (await stat(logPath)).size;
    await waitFor('the first part read', async () =>
      (await monitor.get(jobId))?.offset === size1 ? true : undefined,
    );

    // copytruncate: same file, now shorter than what was read
    await writeFile(logPath, `${iterLines.slice(20, 23).join('\n')}\n`);
    await waitFor('the truncation notice', () => messenger.posts.find((p) => event(p) === 'log_truncated'));
    const size2 = (await stat(logPath)).size;
    await waitFor('the truncated file read', async () =>
      (await monitor.get(jobId))?.offset === size2 ? true : undefined,
    );

    // rotation: the file is renamed away and a new, longer one takes its place
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, `${iterLines.slice(23, 60).join('\n')}\n`);
    await waitFor('the rotation notice', () => messenger.posts.find((p) => event(p) === 'log_rotated'));
    const size3 = (await stat(logPath)).size;
    const d = await waitFor('the new file read', async () => {
      const x = await monitor.get(jobId);
      return x?.offset === size3 ? x : undefined;
    });
    expect(d.scan.lastIteration).toBe(60);
    expect(d.scan.findings).toEqual([]);
    expect(messenger.posts.filter((p) => event(p) === 'report50')).toHaveLength(1);
    await cluster.slurm.cancel(jobId);
    const final = await waitFor('the final report', () => messenger.posts.find((p) => event(p) === 'final'));
    expect(final.reply.title).toContain('CANCELLED');
  });
});
