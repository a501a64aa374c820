import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TrainingMonitor, watchJobId } from '../../../jobs/monitor-training.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import { submitTraining } from '../../../src/training/submit-training.js';
import {
  CollectingMessenger,
  type TrainingCluster,
  trainingCluster,
  waitFor,
} from '../../fixtures/fake-trainer-harness.js';
import { type LoggedLine, recordingLogger } from '../../helpers/recording-logger.js';

// The training watch's log lines on real Slurm: one per event (the report, each finding, the final state),
// each with experiment, step and both job ids.

const tb = inject('testbed');
let cluster: TrainingCluster;
let factory: QueueFactory;
let monitor: TrainingMonitor;
const lines: LoggedLine[] = [];
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
    log: recordingLogger(lines),
    pollMs: 250,
  });
  monitor.start();
});
afterAll(async () => {
  await monitor?.close();
  await factory?.close(0);
  await cluster?.close();
});

const fields = (l: LoggedLine) => l.obj as Record<string, unknown>;

describe('training watch log lines', () => {
  it('a run that reports at 50 iterations, then hits a CUDA OOM: report, finding, final', async () => {
    const save = await cluster.saveDir('logged');
    const config = await cluster.config('logged', {
      'train-iters': 200,
      'log-interval': 1,
      save,
      fake_iter_ms: 20,
      fake_failure: 'cuda_oom',
      fake_fail_at: 60,
    });
    const sub = await submitTraining(cluster.submitDeps, { config, requestedBy: 'U0LOG' });
    if (sub.kind !== 'submitted') throw new Error(`not submitted: ${sub.kind}`);
    await monitor.watch({
      jobId: sub.jobId,
      logPath: sub.logPath,
      configPath: config,
      save,
      saveInterval: null,
      submitter: 'U0LOG',
      channel: 'C0LOG',
      threadTs: null,
    });
    await waitFor(`final log line of ${sub.jobId}`, () =>
      lines.find((l) => fields(l).event === 'final' && fields(l).slurmJobId === sub.jobId),
    );
    const mine = lines.filter((l) => fields(l).slurmJobId === sub.jobId && fields(l).event);
    expect(mine.map((l) => fields(l).event)).toEqual(['report', 'finding', 'final']);
    const experiment = save.replace(/\/+$/, '').split('/').pop();
    for (const l of mine) {
      expect(fields(l)).toMatchObject({ experiment, jobId: watchJobId(sub.jobId), slurmJobId: sub.jobId });
      expect(typeof fields(l).step).toBe('number');
    }
    const [report, finding, final] = mine;
    expect(fields(report as LoggedLine).step).toBeGreaterThanOrEqual(50);
    expect(finding).toMatchObject({ level: 'warn', msg: 'training finding: cuda_oom' });
    expect(fields(finding as LoggedLine).kind).toBe('cuda_oom');
    expect(final?.msg).toMatch(/^training job ended: (FAILED|COMPLETED|CANCELLED)/);
  }, 120_000);
});
