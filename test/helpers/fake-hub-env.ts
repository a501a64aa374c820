import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startUploadWorker, type UploadWorkerHandle } from '../../src/app/upload-worker.js';
import { LocalTransport } from '../../src/cluster/local/local-transport.js';
import { PipelineRuns } from '../../src/cluster/pipeline-runs.js';
import { SlurmClient } from '../../src/cluster/slurm.js';
import { type Logger, silentLogger } from '../../src/logger.js';
import { QueueFactory } from '../../src/queue/queue-factory.js';
import { type LocalHub, type LocalHubOptions, startLocalHub } from '../../src/sandbox/local-hub.js';
import { SANDBOX_PROGRAMS } from '../../src/sandbox/programs.js';
import type { TestbedInfo } from '../../src/sandbox/testbed.js';
import { BatchThreads } from '../../src/uploads/batch-progress.js';
import { createUploadGate } from '../../src/uploads/create-upload-gate.js';
import { UPLOAD_QUEUE, type UploadJobData, type UploadResult } from '../../src/uploads/upload-job.js';
import type { UploadEvent, UploadProgress } from '../../src/uploads/upload-progress.js';
import { UploadQueueService } from '../../src/uploads/upload-queue-service.js';
import type { UploadServices } from '../../src/uploads/upload-services.js';
import type { UploadQueueSettings } from '../../src/uploads/upload-settings.js';
import { CollectingMessenger } from './collecting-messenger.js';

// Everything an upload test needs, on the testbed: a checkpoint tree and log dir under the testbed's dir,
// the fake Hub, a queue namespace of its own, the real Slurm cluster through the local transport.

export const FAKE_PIPELINE_SBATCH = SANDBOX_PROGRAMS.pipelineSbatch;
export const FAKE_PIPELINE_HELPER = SANDBOX_PROGRAMS.pipeline;

export const quietLogger: Logger = silentLogger();

export interface UploadEnvOptions {
  readonly hub: LocalHubOptions;
  readonly settings?: Partial<UploadQueueSettings>;
  /** Simulated conversion time of one pipeline run. */
  readonly workMs?: number;
  /** The pipeline's socket timeout towards the Hub (s). */
  readonly hubTimeoutS?: number;
}

export interface UploadEnv {
  readonly dir: string;
  readonly checkpointsBaseDir: string;
  readonly logsDir: string;
  readonly hub: LocalHub;
  readonly factory: QueueFactory;
  readonly transport: LocalTransport;
  readonly slurm: SlurmClient;
  readonly cluster: PipelineRuns;
  readonly settings: UploadQueueSettings;
  readonly service: UploadQueueService;
  /** What commands get as `services.uploads`: the queue, and batch threads posting to `messages`. */
  readonly uploads: UploadServices;
  readonly messages: CollectingMessenger;
  /** What the worker exports to the pipeline besides CHECKPOINTS_BASE_DIR / SKIP_NEOX_UPLOAD. */
  readonly pipelineEnv: Readonly<Record<string, string>>;
  startWorker(progress?: UploadProgress): Promise<UploadWorkerHandle>;
  makeCheckpoints(experiment: string, steps: readonly number[], bytesEach?: number): Promise<void>;
  /** Wait until no upload is waiting, delayed or active. */
  drained(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const TEST_SETTINGS: UploadQueueSettings = {
  concurrency: 8,
  budget: { limit: 4, windowMs: 3_000, marginMs: 500 },
  pollMs: 250,
  lockTtlMs: 5_000,
  lockRenewMs: 1_000,
  lockRecheckMs: 2_000,
  jitterMs: 50,
  jobLockMs: 3_000,
  stalledIntervalMs: 1_000,
};

export async function createUploadEnv(tb: TestbedInfo, opts: UploadEnvOptions): Promise<UploadEnv> {
  const dir = await mkdtemp(join(tb.dir, 'ckpt-'));
  const checkpointsBaseDir = join(dir, 'checkpoints', 'sf_model_organisms');
  const logsDir = join(dir, 'logs');
  await mkdir(checkpointsBaseDir, { recursive: true });
  await mkdir(join(logsDir, 'checkpoint_pipeline'), { recursive: true });
  const hub = await startLocalHub(opts.hub);
  const factory = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  const transport = new LocalTransport({ env: tb.slurm.env });
  const slurm = new SlurmClient(transport, { cacheTtlMs: 100 });
  const cluster = new PipelineRuns(slurm, transport);
  const settings: UploadQueueSettings = {
    ...TEST_SETTINGS,
    ...opts.settings,
    budget: { ...TEST_SETTINGS.budget, ...opts.settings?.budget },
  };
  const queue = factory.queue<UploadJobData, UploadResult>(UPLOAD_QUEUE);
  const service = new UploadQueueService(queue, createUploadGate(factory, settings));
  const messages = new CollectingMessenger();
  const batches = new BatchThreads(factory.redis(), factory.keyPrefix(UPLOAD_QUEUE), messages, 50);
  const workers: UploadWorkerHandle[] = [];
  const pipelineEnv = {
    HF_ENDPOINT: hub.url,
    FAKE_PIPELINE_HELPER,
    FAKE_PIPELINE_WORK_MS: String(opts.workMs ?? 200),
    FAKE_PIPELINE_TIMEOUT_S: String(opts.hubTimeoutS ?? 5),
  };
  return {
    dir,
    checkpointsBaseDir,
    logsDir,
    hub,
    factory,
    transport,
    slurm,
    cluster,
    settings,
    service,
    uploads: { queue: service, batches },
    messages,
    pipelineEnv,
    async startWorker(progress) {
      const w = await startUploadWorker({
        factory,
        cluster,
        pipeline: {
          script: FAKE_PIPELINE_SBATCH,
          checkpointsBaseDir,
          logsDir,
          env: pipelineEnv,
        },
        settings,
        ...(progress ? { progress } : {}),
        log: quietLogger,
      });
      workers.push(w);
      return w;
    },
    async makeCheckpoints(experiment, steps, bytesEach = 1000) {
      for (const step of steps) {
        const d = join(checkpointsBaseDir, experiment, `global_step${step}`);
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'mp_rank_00_model_states.pt'), Buffer.alloc(bytesEach, 1));
      }
      await writeFile(join(checkpointsBaseDir, experiment, 'latest'), `global_step${Math.max(...steps)}\n`);
    },
    async drained(timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.active ?? 0) === 0) return;
        if (Date.now() > until)
          throw new Error(`uploads not drained after ${timeoutMs} ms: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.close(0)));
      await factory.close(0);
      await transport.close();
      await hub.close();
    },
  };
}

export interface RecordedEvent {
  readonly at: number;
  readonly jobId: string;
  readonly event: UploadEvent;
}

/** A progress sink that keeps every event with its time, for assertions on ordering. */
export function recordingProgress(): UploadProgress & { readonly events: RecordedEvent[] } {
  const events: RecordedEvent[] = [];
  return {
    events,
    async report(_batchId, jobId, event) {
      events.push({ at: Date.now(), jobId, event });
    },
  };
}
