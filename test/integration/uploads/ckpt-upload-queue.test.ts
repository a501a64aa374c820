import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { dispatchText } from '../../../commands/core/dispatch.js';
import { pipelineJobName, pipelineLogPath, runComment } from '../../../jobs/pipeline-run-names.js';
import { UPLOAD_QUEUE, type UploadJobInput, uploadJobId } from '../../../src/uploads/upload-job.js';
import { commandDeps, slackUser } from '../../helpers/command-deps.js';
import {
  createUploadEnv,
  FAKE_PIPELINE_SBATCH,
  recordingProgress,
  type UploadEnv,
} from '../../helpers/fake-hub-env.js';

// The upload queue end to end: real Redis (own prefix per test), real Slurm running the fake pipeline
// sbatch, a fake Hub on loopback with a fixed-window commit limit.

const tb = inject('testbed');
let env: UploadEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const template = (experiment: string, over: Partial<UploadJobInput> = {}): Omit<UploadJobInput, 'step'> => ({
  experiment,
  org: 'test-org',
  skipNeoxUpload: true,
  uploadNeoxOnly: false,
  eval: false,
  singleton: true,
  maxRetries: 5,
  retryMinWaitS: 1,
  retryMaxWaitS: 20,
  batchId: 'batch-1',
  requestedBy: 'U0TEST',
  ...over,
});

/**
 * Commit directly, as another client of the same account would, to use up the Hub's window — right after
 * a window starts, so the window is still the same when the queue's first pipeline commits.
 */
async function useUpHub(hub: UploadEnv['hub'], n: number, alignToWindowMs?: number): Promise<void> {
  if (alignToWindowMs) {
    const sinceStart = (Date.now() - hub.startedAt) % alignToWindowMs;
    if (sinceStart > 1_000) await new Promise((r) => setTimeout(r, alignToWindowMs - sinceStart + 20));
  }
  const url = hub.url;
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/api/models/other/repo/commit/main`, { method: 'POST', body: '{}' });
    await r.arrayBuffer();
  }
}

async function pipelineRuns(
  e: UploadEnv,
): Promise<{ experiment: string; step: number; start: number; end: number }[]> {
  const dir = join(e.logsDir, 'checkpoint_pipeline');
  const out = [];
  for (const f of await readdir(dir)) {
    const text = await readFile(join(dir, f), 'utf8');
    const experiment = /^Experiment: (\S+)$/m.exec(text)?.[1];
    const step = /^Checkpoint: (\d+)$/m.exec(text)?.[1];
    const start = /start_ms=(\d+)/.exec(text)?.[1];
    const end = /end_ms=(\d+)/.exec(text)?.[1];
    if (experiment && step && start && end)
      out.push({ experiment, step: Number(step), start: Number(start), end: Number(end) });
  }
  return out;
}

describe('checkpoint upload queue', () => {
  it('on a 429 pauses every start until the Hub resets, then uploads everything (nothing lost)', async () => {
    // The Hub allows 4 commits per 20 s; someone else has just used them up. Our budget cannot know: the
    // Hub's 429 must tell us. Two run at a time, so the 3rd and 4th upload come up during the pause.
    env = await createUploadEnv(tb, {
      hub: { limit: 4, windowMs: 20_000 },
      settings: { concurrency: 2, budget: { limit: 4, windowMs: 20_000, marginMs: 300 } },
    });
    await useUpHub(env.hub, 4, 20_000);
    await env.makeCheckpoints('exp-a', [100, 200]);
    await env.makeCheckpoints('exp-b', [100, 200]);
    const progress = recordingProgress();
    await env.service.enqueue({ steps: [100, 200], template: template('exp-a', { singleton: false }) });
    await env.service.enqueue({ steps: [100, 200], template: template('exp-b', { singleton: false }) });
    await env.startWorker(progress);
    await env.drained(150_000);

    const counts = await env.service.queue.getJobCounts('completed', 'failed');
    expect(counts).toMatchObject({ completed: 4, failed: 0 });
    expect(env.hub.stats().rejected).toBeGreaterThanOrEqual(1);
    // Every checkpoint reached the Hub, as its own revision.
    const committed = env.hub.calls.filter(
      (c) => c.kind === 'commit' && c.status === 200 && c.repo !== 'other/repo',
    );
    expect(committed.map((c) => `${c.repo}@${c.revision}`).sort()).toEqual([
      'test-org/sfm-exp-a@global_step100',
      'test-org/sfm-exp-a@global_step200',
      'test-org/sfm-exp-b@global_step100',
      'test-org/sfm-exp-b@global_step200',
    ]);
    // The 429 paused the queue: a job that came up during the pause waited for it, and nothing was
    // submitted before the Hub's reset.
    const firstRetry = progress.events.find((e) => e.event.kind === 'retrying');
    expect(firstRetry?.event).toMatchObject({ kind: 'retrying', cause: 'rate limited' });
    const retryAt = firstRetry?.event.kind === 'retrying' ? firstRetry.event.retryAt : 0;
    expect(
      progress.events.some((e) => e.event.kind === 'waiting' && e.event.why.startsWith('Hub pause')),
    ).toBe(true);
    const submittedDuringPause = progress.events.filter(
      (e) => e.event.kind === 'submitted' && e.at > (firstRetry?.at ?? 0) && e.at < retryAt - 100,
    );
    expect(submittedDuringPause).toEqual([]);
    // The job that hit the 429 kept the record of it.
    const retried = (await env.service.queue.getJobs(['completed'])).filter((j) => j.data.retries > 0);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried[0]?.data.runs[0]).toMatchObject({ outcome: 'failed', cause: 'rate_limited' });
  }, 200_000);

  it('gives up after --max-retries with the reason', async () => {
    env = await createUploadEnv(tb, {
      hub: { limit: 1, windowMs: 60_000 },
      settings: { concurrency: 1, budget: { limit: 10, windowMs: 60_000, marginMs: 0 } },
    });
    await env.makeCheckpoints('exp-c', [100]);
    await useUpHub(env.hub, 1);
    await env.service.enqueue({
      steps: [100],
      template: template('exp-c', { maxRetries: 1, retryMaxWaitS: 1 }),
    });
    await env.startWorker();
    await env.drained(60_000);
    const [job] = await env.service.queue.getJobs(['failed']);
    expect(job?.id).toBe(uploadJobId('exp-c', 100));
    expect(job?.failedReason).toMatch(
      /^gave up after 1 retries: rate limited: .*429 Client Error: Too Many Requests/,
    );
    expect(job?.data.runs).toHaveLength(2);
  }, 120_000);

  it('runs one upload per experiment at a time, several experiments at once', async () => {
    env = await createUploadEnv(tb, {
      hub: { limit: 100, windowMs: 5_000 },
      settings: { concurrency: 6, budget: { limit: 100, windowMs: 5_000, marginMs: 0 } },
      workMs: 3_000,
    });
    await env.makeCheckpoints('exp-s', [100, 200, 300]);
    await env.makeCheckpoints('exp-t', [100, 200]);
    await env.service.enqueue({ steps: [100, 200, 300], template: template('exp-s') });
    await env.service.enqueue({ steps: [100, 200], template: template('exp-t') });
    await env.startWorker();
    await env.drained(120_000);
    expect(await env.service.queue.getJobCounts('completed')).toMatchObject({ completed: 5 });

    const runs = await pipelineRuns(env);
    expect(runs).toHaveLength(5);
    const overlaps = (a: (typeof runs)[number], b: (typeof runs)[number]) =>
      a.start < b.end && b.start < a.end;
    for (const a of runs)
      for (const b of runs)
        if (a !== b && a.experiment === b.experiment)
          expect(overlaps(a, b), `${a.experiment} ${a.step}/${b.step}`).toBe(false);
    // Different experiments did run side by side (so the serialization above is per experiment, not global).
    expect(runs.some((a) => runs.some((b) => a.experiment !== b.experiment && overlaps(a, b)))).toBe(true);
  }, 150_000);

  it('a repeated /ckpt upload adds nothing', async () => {
    env = await createUploadEnv(tb, { hub: { limit: 100, windowMs: 5_000 } });
    await env.makeCheckpoints('exp-r', [100, 200, 300]);
    const deps = commandDeps({
      transport: env.transport,
      env: {
        OPERATORS: 'U0OPERATOR',
        CHECKPOINTS_BASE_DIR: env.checkpointsBaseDir,
        LOGS_DIR: env.logsDir,
        HF_ORG: 'test-org',
      },
      services: { uploads: env.uploads },
    });
    const op = slackUser('U0OPERATOR');
    const first = await dispatchText(deps, op, '/ckpt', 'upload exp-r --all --upload-delay 3600');
    expect(first.level).toBe('ok');
    expect(first.data).toMatchObject({ added: [100, 200, 300], existing: [] });
    const again = await dispatchText(deps, op, '/ckpt', 'upload exp-r --all --upload-delay 3600');
    expect(again.data).toMatchObject({ added: [] });
    expect(again.text).toContain('Nothing new queued');
    const client = await env.service.queue.client;
    expect(await client.zcard(env.service.queue.toKey('delayed'))).toBe(3);
    expect((await env.service.queue.getJobs(['delayed'])).map((j) => j.id).sort()).toEqual([
      'exp-r@100',
      'exp-r@200',
      'exp-r@300',
    ]);
    // A non-operator cannot queue, and bad input queues nothing.
    const refused = await dispatchText(deps, slackUser('U0SOMEONE'), '/ckpt', 'upload exp-r --all');
    expect(refused.level).toBe('error');
    const bad = await dispatchText(deps, op, '/ckpt', 'upload exp-r --steps 100,abc');
    expect(bad.level).toBe('error');
    expect(bad.text).toContain('--steps takes step numbers');
    const absent = await dispatchText(deps, op, '/ckpt', 'upload exp-r --steps 100,999');
    expect(absent.text).toContain('No global_step999');
    expect(await env.service.queue.count()).toBe(3);
    expect(UPLOAD_QUEUE).toBe(env.service.queue.name);
  });

  it('a killed worker is resumed by another without submitting the pipeline again', async () => {
    env = await createUploadEnv(tb, { hub: { limit: 100, windowMs: 5_000 }, workMs: 4_000 });
    await env.makeCheckpoints('exp-k', [100]);
    await env.service.enqueue({ steps: [100], template: template('exp-k') });
    const first = await env.startWorker();
    const id = uploadJobId('exp-k', 100);
    let slurmJobId: string | null = null;
    for (const until = Date.now() + 30_000; Date.now() < until && !slurmJobId; ) {
      slurmJobId = (await env.service.queue.getJob(id))?.data.slurmJobId ?? null;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(slurmJobId).toMatch(/^\d+$/);
    await first.running.kill();
    expect(await env.service.queue.getJobState(id)).toBe('active');

    await env.startWorker();
    await env.drained(60_000);
    const job = await env.service.queue.getJob(id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toMatchObject({ slurmJobId, repos: ['test-org/sfm-exp-k'] });
    expect(env.slurm.stats.sbatch).toBe(1);
    expect(await readdir(join(env.logsDir, 'checkpoint_pipeline'))).toEqual([
      `checkpoint_pipeline_${slurmJobId}.out`,
    ]);
    expect(env.hub.stats().commits).toBe(1);
  }, 120_000);

  it('a run submitted just before a crash that ended before any worker came back is adopted, not run again', async () => {
    env = await createUploadEnv(tb, { hub: { limit: 100, windowMs: 5_000 }, workMs: 200 });
    await env.makeCheckpoints('exp-gone', [100]);
    await env.service.enqueue({ steps: [100], template: template('exp-gone') });
    const id = uploadJobId('exp-gone', 100);
    const job = await env.service.queue.getJob(id);
    if (!job) throw new Error('no job');
    // What the crashed attempt did: note the submission, sbatch exactly as the worker does, then die
    // before saving the Slurm job id. Nobody watched the run, and it ended.
    const comment = runComment(id, 0);
    await job.updateData({ ...job.data, submitting: comment, submittingAt: Date.now() });
    const submitted = await env.cluster.submit({
      script: FAKE_PIPELINE_SBATCH,
      args: ['exp-gone', '100', '--skip-eval', 'test-org'],
      env: { ...env.pipelineEnv, CHECKPOINTS_BASE_DIR: env.checkpointsBaseDir, SKIP_NEOX_UPLOAD: '1' },
      jobName: pipelineJobName({ experiment: 'exp-gone', step: 100 }),
      output: pipelineLogPath(env.logsDir, '%j'),
      comment,
    });
    const ended = async (slurmJobId: string) => {
      for (const until = Date.now() + 60_000; (await env?.cluster.states([slurmJobId]))?.size; ) {
        if (Date.now() > until) throw new Error(`pipeline run ${slurmJobId} did not end`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await ended(submitted);
    // A log of another checkpoint, written meanwhile, is not taken for ours.
    await env.makeCheckpoints('exp-other', [100]);
    const other = await env.cluster.submit({
      script: FAKE_PIPELINE_SBATCH,
      args: ['exp-other', '100', '--skip-eval', 'test-org'],
      env: { ...env.pipelineEnv, CHECKPOINTS_BASE_DIR: env.checkpointsBaseDir, SKIP_NEOX_UPLOAD: '1' },
      jobName: pipelineJobName({ experiment: 'exp-other', step: 100 }),
      output: pipelineLogPath(env.logsDir, '%j'),
      comment: 'someone else',
    });
    expect(Number(other)).toBeGreaterThan(Number(submitted));
    await ended(other);

    await env.startWorker();
    await env.drained(60_000);
    const done = await env.service.queue.getJob(id);
    expect(await done?.getState()).toBe('completed');
    expect(done?.returnvalue).toMatchObject({ slurmJobId: submitted, repos: ['test-org/sfm-exp-gone'] });
    // Our two sbatch calls and no third: each checkpoint went to the Hub once.
    expect(env.slurm.stats.sbatch).toBe(2);
    expect(env.hub.stats().commits).toBe(2);
    expect((await pipelineRuns(env)).filter((r) => r.experiment === 'exp-gone')).toHaveLength(1);
  }, 120_000);
});
