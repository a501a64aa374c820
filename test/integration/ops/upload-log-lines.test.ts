import { Writable } from 'node:stream';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startUploadWorker, type UploadWorkerHandle } from '../../../src/app/upload-worker.js';
import { createLogger } from '../../../src/logger.js';
import { createUploadGate } from '../../../src/uploads/create-upload-gate.js';
import { type UploadJobInput, uploadJobId } from '../../../src/uploads/upload-job.js';
import { UploadQueueService } from '../../../src/uploads/upload-queue-service.js';
import { createUploadEnv, FAKE_PIPELINE_SBATCH, type UploadEnv } from '../../helpers/fake-hub-env.js';

// What an operator reads: the bot's JSON log lines for an upload, through the real queue, real Slurm and the
// local Hub answering 429 — one line per state change, each with experiment, step and both job ids.

const tb = inject('testbed');
let env: UploadEnv | undefined;
let worker: UploadWorkerHandle | undefined;
afterEach(async () => {
  await worker?.close(0);
  await env?.close();
  worker = undefined;
  env = undefined;
});

const template = (experiment: string, over: Partial<UploadJobInput> = {}): Omit<UploadJobInput, 'step'> => ({
  experiment,
  org: 'test-org',
  skipNeoxUpload: true,
  uploadNeoxOnly: false,
  eval: false,
  singleton: true,
  maxRetries: 3,
  retryMinWaitS: 1,
  // Above the Hub window (45 s): a retry capped below the reset would only meet another 429.
  retryMaxWaitS: 60,
  batchId: 'batch-log',
  requestedBy: 'U0TEST',
  ...over,
});

/** A logger writing JSON lines into memory, as the bot's does to stdout. */
function jsonLines() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', pretty: false, destination: sink }) };
}

describe('upload log lines', () => {
  it('tell one upload’s story: queued, admitted, submitted, paused by a 429 until the reset, retried, finished', async () => {
    env = await createUploadEnv(tb, {
      hub: { limit: 1, windowMs: 45_000 },
      settings: { concurrency: 1, budget: { limit: 10, windowMs: 45_000, marginMs: 0 } },
    });
    const { lines, log } = jsonLines();
    await env.makeCheckpoints('exp-log', [100]);
    // Someone else used the Hub's one commit of this window: our first run gets a 429.
    const sinceStart = (Date.now() - env.hub.startedAt) % 45_000;
    if (sinceStart > 1_000) await new Promise((r) => setTimeout(r, 45_000 - sinceStart + 20));
    await (
      await fetch(`${env.hub.url}/api/models/other/repo/commit/main`, { method: 'POST', body: '{}' })
    ).text();

    const service = new UploadQueueService(
      env.service.queue,
      createUploadGate(env.factory, env.settings),
      log,
    );
    await service.enqueue({ steps: [100], template: template('exp-log') });
    worker = await startUploadWorker({
      factory: env.factory,
      cluster: env.cluster,
      pipeline: {
        script: FAKE_PIPELINE_SBATCH,
        checkpointsBaseDir: env.checkpointsBaseDir,
        logsDir: env.logsDir,
        env: env.pipelineEnv,
      },
      settings: env.settings,
      log,
    });
    await env.drained(250_000);

    const jobId = uploadJobId('exp-log', 100);
    const story = lines.filter((l) => l.jobId === jobId);
    const events = story.map((l) => l.event);
    // In order, each once where it happens once (waiting lines may come between them).
    const order = ['queued', 'admitted', 'submitted', 'paused', 'retrying', 'submitted', 'finished'];
    let at = -1;
    for (const e of order) {
      const next = events.indexOf(e, at + 1);
      expect(next, `${e} after ${events.slice(0, at + 1).join(',')} in ${events.join(',')}`).toBeGreaterThan(
        at,
      );
      at = next;
    }
    for (const l of story) expect(l).toMatchObject({ experiment: 'exp-log', step: 100, jobId });
    const [first, second] = story.filter((l) => l.event === 'submitted');
    expect(first?.slurmJobId).toMatch(/^\d+$/);
    expect(second?.slurmJobId).toMatch(/^\d+$/);
    expect(second?.slurmJobId).not.toBe(first?.slurmJobId);
    expect(first?.msg).toBe(`upload submitted as Slurm job ${String(first?.slurmJobId)}`);
    const paused = story.find((l) => l.event === 'paused');
    expect(paused?.slurmJobId).toBe(first?.slurmJobId);
    expect(String(paused?.until)).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(String(paused?.msg)).toContain(`paused until ${String(paused?.until)}`);
    expect(paused?.level).toBe(40);
    expect(story.find((l) => l.event === 'retrying')).toMatchObject({ cause: 'rate limited', retry: 1 });
    expect(story.find((l) => l.event === 'finished')).toMatchObject({
      slurmJobId: second?.slurmJobId,
      repos: ['test-org/sfm-exp-log'],
    });
  }, 300_000);

  it('a failed upload says why', async () => {
    env = await createUploadEnv(tb, {
      hub: { limit: 1, windowMs: 600_000 },
      settings: { concurrency: 1, budget: { limit: 10, windowMs: 600_000, marginMs: 0 } },
    });
    const { lines, log } = jsonLines();
    await env.makeCheckpoints('exp-fail', [100]);
    await (
      await fetch(`${env.hub.url}/api/models/other/repo/commit/main`, { method: 'POST', body: '{}' })
    ).text();
    const service = new UploadQueueService(
      env.service.queue,
      createUploadGate(env.factory, env.settings),
      log,
    );
    await service.enqueue({ steps: [100], template: template('exp-fail', { maxRetries: 0 }) });
    worker = await startUploadWorker({
      factory: env.factory,
      cluster: env.cluster,
      pipeline: {
        script: FAKE_PIPELINE_SBATCH,
        checkpointsBaseDir: env.checkpointsBaseDir,
        logsDir: env.logsDir,
        env: env.pipelineEnv,
      },
      settings: env.settings,
      log,
    });
    await env.drained(250_000);
    const failed = lines.find((l) => l.event === 'failed');
    expect(failed).toMatchObject({ experiment: 'exp-fail', step: 100, jobId: uploadJobId('exp-fail', 100) });
    expect(String(failed?.cause)).toMatch(/^gave up after 0 retries: rate limited/);
    expect(String(failed?.msg)).toBe(`upload failed: ${String(failed?.cause)}`);
    expect(failed?.slurmJobId).toMatch(/^\d+$/);
  }, 300_000);
});
