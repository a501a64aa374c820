import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { dispatchText } from '../../../commands/core/dispatch.js';
import { pipelineLogPath } from '../../../jobs/pipeline-run-names.js';
import { PipelineScanner } from '../../../src/cluster/pipeline-scanner.js';
import { DigestSource } from '../../../src/digest/digest-source.js';
import { LogSweeper } from '../../../src/digest/log-sweeper.js';
import { MemoryScanStore } from '../../../src/digest/scan-store.js';
import type { CheckpointStatus } from '../../../src/uploads/checkpoint-status.js';
import { uploadJobId } from '../../../src/uploads/upload-job.js';
import { commandDeps, RecordingTransport, slackUser } from '../../helpers/command-deps.js';
import { createUploadEnv, FAKE_PIPELINE_SBATCH, type UploadEnv } from '../../helpers/fake-hub-env.js';

// /ckpt status on a mixed experiment: runs of the fake pipeline under real Slurm against the fake Hub left
// one checkpoint uploaded, three failed for different reasons; the queue holds one running and one queued.

const tb = inject('testbed');
let env: UploadEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function waitFor<T>(
  what: string,
  f: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('/ckpt status', () => {
  it('shows every checkpoint with size and upload state, in a constant number of cluster commands', async () => {
    env = await createUploadEnv(tb, {
      // One commit per minute: the first run takes it, the next one is refused.
      hub: { limit: 1, windowMs: 60_000, stall: /@global_step(300|500)$/, forbiddenOrgs: /^forbidden-org$/ },
      hubTimeoutS: 60,
    });
    const e = env;
    const exp = 'exp-mixed';
    await e.makeCheckpoints(exp, [100, 200, 300, 400, 500, 600], 50_000);
    await e.makeCheckpoints(exp, [700], 2_000_000);
    await e.makeCheckpoints('exp-other', [100]);

    // Pipeline runs submitted by hand, as an operator would, waited for one after another.
    const run = async (step: number, org = 'test-org') => {
      const id = await e.cluster.submit({
        script: FAKE_PIPELINE_SBATCH,
        args: [exp, String(step), '--skip-eval', org],
        env: {
          ...e.pipelineEnv,
          FAKE_PIPELINE_TIMEOUT_S: '2',
          CHECKPOINTS_BASE_DIR: e.checkpointsBaseDir,
          SKIP_NEOX_UPLOAD: '1',
        },
        jobName: `manual-${step}`,
        output: pipelineLogPath(e.logsDir, '%j'),
        comment: 'manual',
      });
      await waitFor(`job ${id}`, async () => (await e.cluster.states([id])).size === 0, 90_000);
      return id;
    };
    const okJob = await run(100);
    await Promise.all([run(200), run(300), run(400, 'forbidden-org')]);

    // The queue: 500 runs (its commit hangs at the Hub), 600 waits an hour (--upload-delay).
    const template = {
      experiment: exp,
      org: 'test-org',
      skipNeoxUpload: true,
      uploadNeoxOnly: false,
      eval: false,
      singleton: true,
      maxRetries: 0,
      retryMinWaitS: 1,
      retryMaxWaitS: 1,
      batchId: 'b',
      requestedBy: 'U0TEST',
    };
    await e.service.enqueue({ steps: [500], template });
    await e.service.enqueue({ steps: [600], template, delayMs: () => 3_600_000 });
    await e.startWorker();
    const running = await waitFor('step 500 to run', async () => {
      const j = await e.service.queue.getJob(uploadJobId(exp, 500));
      const id = j?.data.slurmJobId;
      return id && (await e.cluster.states([id])).get(id)?.state === 'RUNNING' ? id : null;
    });

    const transport = new RecordingTransport(e.transport);
    const deps = commandDeps({
      transport,
      env: { CHECKPOINTS_BASE_DIR: e.checkpointsBaseDir, LOGS_DIR: e.logsDir },
      services: {
        uploads: e.uploads,
        digest: {
          cluster: new DigestSource(
            join(e.logsDir, 'checkpoint_pipeline'),
            new LogSweeper({ scanner: new PipelineScanner(transport), store: new MemoryScanStore() }),
          ),
          local: () => Promise.reject(new Error('not used')),
        },
      },
    });
    const reply = await dispatchText(deps, slackUser(), '/ckpt', `status ${exp}`);
    // One listing with sizes, one log sweep — for seven checkpoints.
    expect(transport.calls).toHaveLength(2);
    expect(transport.calls.filter((c) => c[1] === 'checkpoint-sizes.sh')).toHaveLength(1);

    const cps = (reply.data as { checkpoints: CheckpointStatus[] }).checkpoints;
    const by = new Map(cps.map((c) => [c.step, c]));
    expect(cps.map((c) => c.step)).toEqual([100, 200, 300, 400, 500, 600, 700]);
    expect(by.get(100)).toMatchObject({
      state: 'uploaded',
      repos: ['test-org/sfm-exp-mixed'],
      slurmJobId: okJob,
    });
    expect(by.get(200)).toMatchObject({ state: 'failed', cause: 'rate_limited' });
    expect(by.get(200)?.line).toContain('429 Client Error: Too Many Requests');
    expect(by.get(300)).toMatchObject({ state: 'failed', cause: 'timeout' });
    expect(by.get(300)?.line).toContain('RequestTimeout');
    expect(by.get(400)).toMatchObject({ state: 'failed', cause: 'other' });
    expect(by.get(400)?.line).toContain('403 Client Error');
    expect(by.get(500)).toMatchObject({ state: 'running', slurmJobId: running });
    expect(by.get(600)?.state).toBe('queued');
    expect(by.get(600)?.detail).toMatch(/^due \d{4}-/);
    expect(by.get(700)?.state).toBe('none');
    expect(by.get(700)?.bytes).toBeGreaterThanOrEqual(2_000_000);
    expect(by.get(100)?.bytes).toBeGreaterThanOrEqual(50_000);
    expect(reply.text).toContain('3 failed (1 rate limited, 1 timeout, 1 other)');
    expect(reply.table?.rows.find((r) => r[0] === '200')?.[2]).toBe('failed (rate limited)');

    // A misspelt experiment: where checkpoints live, and the names that are close.
    const typo = await dispatchText(deps, slackUser(), '/ckpt', 'status exp-mixd');
    expect(typo.level).toBe('error');
    expect(typo.text).toContain('sf_model_organisms/');
    expect((typo.data as { near: string[] }).near[0]).toBe('exp-mixed');
    // A base dir that does not exist.
    const noBase = commandDeps({
      transport: e.transport,
      env: { CHECKPOINTS_BASE_DIR: join(e.dir, 'checkpoints', 'nope') },
      services: { uploads: deps.services.uploads, digest: deps.services.digest },
    });
    const nb = await dispatchText(noBase, slackUser(), '/ckpt', `status ${exp}`);
    expect(nb.text).toContain('Check CHECKPOINTS_BASE_DIR');
    // Hostile input never reaches the cluster.
    const before = transport.calls.length;
    const bad = await dispatchText(deps, slackUser(), '/ckpt', 'status "x; rm -rf /"');
    expect(bad.level).toBe('error');
    expect(transport.calls.length).toBe(before);
  }, 240_000);
});
