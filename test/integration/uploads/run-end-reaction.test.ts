import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { pipelineLogPath } from '../../../jobs/pipeline-run-names.js';
import { auditingTransport } from '../../../src/cluster/audited-transport.js';
import { limitedTransport } from '../../../src/cluster/limited-transport.js';
import { PipelineRuns } from '../../../src/cluster/pipeline-runs.js';
import { SlurmClient } from '../../../src/cluster/slurm.js';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import { SlurmWatcher } from '../../../src/uploads/slurm-watcher.js';
import { UPLOAD_QUEUE, type UploadJobInput } from '../../../src/uploads/upload-job.js';
import { createUploadEnv, FAKE_PIPELINE_SBATCH, type UploadEnv } from '../../helpers/fake-hub-env.js';

// A pipeline run's end seen from its log's completion line (stat, then one command for the logs that went
// quiet), not only from the next squeue poll: real Slurm, the sandbox pipeline, a squeue poll far slower
// than the runs, so anything that finishes in time finished from the log.

const tb = inject('testbed');
let env: UploadEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const template = (experiment: string): Omit<UploadJobInput, 'step'> => ({
  experiment,
  org: 'test-org',
  skipNeoxUpload: true,
  uploadNeoxOnly: false,
  eval: false,
  singleton: true,
  maxRetries: 0,
  retryMinWaitS: 1,
  retryMaxWaitS: 20,
  batchId: 'reaction',
  requestedBy: 'U0TEST',
});

describe('noticing a pipeline run end', () => {
  it('serialised uploads of one experiment follow each other without waiting for a squeue poll', async () => {
    const e = await createUploadEnv(tb, {
      hub: { limit: 100, windowMs: 60_000 },
      // One squeue poll every 5 minutes: three runs one after another could not finish in time through it.
      settings: { pollMs: 300_000, lockRecheckMs: 300_000, jobLockMs: 30_000, stalledIntervalMs: 10_000 },
      workMs: 200,
    });
    env = e;
    await e.makeCheckpoints('react-exp', [100, 200, 300]);
    await e.service.enqueue({ steps: [100, 200, 300], template: template('react-exp') });
    const worker = await e.startWorker();
    // Generous for a loaded machine; still far below one poll.
    await e.drained(280_000);
    const jobs = await e.factory.queue(UPLOAD_QUEUE).getJobs(['completed', 'failed']);
    expect(jobs.map((j) => j.finishedOn !== undefined && j.failedReason === undefined)).toEqual([
      true,
      true,
      true,
    ]);
    expect(worker.watcher.polls).toBe(0);
    expect(worker.watcher.endsSeenEarly).toBe(3);
    // Each run's log really ends with the completion line the watcher went by.
    for (const j of jobs) {
      const id = (j.returnvalue as { slurmJobId: string }).slurmJobId;
      const log = await readFile(pipelineLogPath(e.logsDir, id), 'utf8');
      expect(log).toMatch(/Pipeline completed at .* with exit code 0\n$/);
    }
  }, 300_000);

  it('a run that dies without its completion line still ends, at the squeue poll', async () => {
    const e = await createUploadEnv(tb, { hub: { limit: 100, windowMs: 60_000 } });
    env = e;
    await e.makeCheckpoints('react-kill', [1]);
    const r = await e.slurm.submit({
      script: FAKE_PIPELINE_SBATCH,
      args: ['react-kill', '1', '--skip-eval', 'test-org'],
      jobName: 'react-kill',
      export: {
        ...e.pipelineEnv,
        CHECKPOINTS_BASE_DIR: e.checkpointsBaseDir,
        SKIP_NEOX_UPLOAD: '1',
        FAKE_PIPELINE_WORK_MS: '60000',
      },
      output: pipelineLogPath(e.logsDir, '%j'),
    });
    const log = pipelineLogPath(e.logsDir, r.jobId);
    const watcher = new SlurmWatcher(e.cluster, 3_000, () => {}, 200);
    const ended = watcher.waitForEnd(r.jobId, undefined, undefined, log);
    // Let the log appear and go quiet (the run sleeps in its "conversion"): the end check looks, sees no
    // completion line, and keeps waiting.
    for (let i = 0; i < 900 && watcher.endChecks === 0; i++) await new Promise((res) => setTimeout(res, 100));
    expect(watcher.endChecks).toBeGreaterThan(0);
    await e.transport.run(['scancel', r.jobId]);
    const end = await ended;
    watcher.stop();
    expect(end.shutdown).toBe(false);
    expect(watcher.endsSeenEarly).toBe(0);
    expect(watcher.polls).toBeGreaterThan(0);
    expect(await readFile(log, 'utf8')).not.toContain('Pipeline completed at');
  }, 180_000);

  it("over SSH through the bot's transport stack, the stat agent sees the end without any squeue", async () => {
    const raw = new SshTransport({
      host: tb.ssh.host,
      port: tb.ssh.port,
      username: tb.ssh.user,
      keyPath: tb.ssh.keyPath,
      fingerprint: tb.ssh.fingerprint,
      maxChannels: 3,
    });
    // As src/app/runtime.ts wraps it: bounded, then audited.
    const transport = auditingTransport(limitedTransport(raw, 3));
    try {
      expect(transport.statPaths).toBeDefined();
      const cluster = new PipelineRuns(new SlurmClient(transport), transport);
      const dir = await mkdtemp(join(tb.dir, 'react-ssh-'));
      const log = join(dir, 'checkpoint_pipeline_424242.out');
      await writeFile(log, 'Experiment: react-ssh\nCheckpoint: 5\n');
      // The stat agent starts on a connection the transport already has.
      expect((await transport.run(['true'])).exitCode).toBe(0);
      const watcher = new SlurmWatcher(cluster, 120_000, () => {}, 200);
      let done = false;
      const ended = watcher.waitForEnd('424242', undefined, undefined, log).then((r) => {
        done = true;
        return r;
      });
      for (let i = 0; i < 5; i++) {
        await appendFile(log, `Successfully uploaded part ${i} to test-org/react-ssh\n`);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(done).toBe(false);
      await appendFile(log, 'Pipeline completed at Tue Dec  1 12:00:00 UTC 2026 with exit code 0\n');
      const end = await ended;
      watcher.stop();
      expect(end.shutdown).toBe(false);
      expect(watcher.endsSeenEarly).toBe(1);
      expect(watcher.polls).toBe(0);
    } finally {
      await transport.close();
    }
  }, 60_000);
});
