import { createUploadProcessor, type PipelineSettings } from '../../jobs/upload-checkpoint.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { QueueFactory, RunningWorker } from '../queue/queue-factory.js';
import { createUploadGate } from '../uploads/create-upload-gate.js';
import type { PipelineCluster } from '../uploads/pipeline-cluster.js';
import { SlurmWatcher } from '../uploads/slurm-watcher.js';
import type { UploadGate } from '../uploads/upload-gate.js';
import { UPLOAD_QUEUE, type UploadJobData, type UploadResult } from '../uploads/upload-job.js';
import type { UploadProgress } from '../uploads/upload-progress.js';
import type { UploadQueueSettings } from '../uploads/upload-settings.js';

export interface UploadWorkerHandle {
  readonly running: RunningWorker<UploadJobData, UploadResult>;
  readonly watcher: SlurmWatcher;
  readonly gate: UploadGate;
  close(graceMs?: number): Promise<void>;
}

/** Start consuming the upload queue in this process. */
export async function startUploadWorker(opts: {
  factory: QueueFactory;
  cluster: PipelineCluster;
  pipeline: PipelineSettings;
  settings: UploadQueueSettings;
  progress?: UploadProgress;
  log: Logger;
  metrics?: Metrics;
}): Promise<UploadWorkerHandle> {
  const { factory, settings } = opts;
  const queue = factory.queue<UploadJobData, UploadResult>(UPLOAD_QUEUE);
  // Global across every worker process, unlike the per-process `concurrency` below.
  await queue.setGlobalConcurrency(settings.concurrency);
  const gate = createUploadGate(factory, settings);
  const watcher = new SlurmWatcher(opts.cluster, settings.pollMs, (err) =>
    opts.log.warn({ err: String(err) }, 'squeue poll failed; will retry'),
  );
  const processor = createUploadProcessor({
    queue,
    gate,
    cluster: opts.cluster,
    watcher,
    pipeline: opts.pipeline,
    ...(opts.progress ? { progress: opts.progress } : {}),
    log: opts.log,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    lockRenewMs: settings.lockRenewMs,
    jitterMs: settings.jitterMs,
    logRetryMs: Math.max(settings.pollMs * 4, 1_000),
  });
  const running = factory.worker<UploadJobData, UploadResult>(UPLOAD_QUEUE, processor, {
    concurrency: settings.concurrency,
    lockDuration: settings.jobLockMs,
    stalledInterval: settings.stalledIntervalMs,
    // A bot restart while pipelines run must not count against the job.
    maxStalledCount: 100,
  });
  return {
    running,
    watcher,
    gate,
    async close(graceMs = 5_000) {
      await running.close(graceMs);
      watcher.stop();
    },
  };
}
