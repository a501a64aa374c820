import type { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { QueueFactory } from '../queue/queue-factory.js';
import { BatchThreads } from '../uploads/batch-progress.js';
import { SlurmPipelineCluster } from '../uploads/pipeline-cluster.js';
import { UPLOAD_QUEUE, type UploadJobData, type UploadResult } from '../uploads/upload-job.js';
import { UploadQueueService } from '../uploads/upload-queue-service.js';
import type { UploadServices } from '../uploads/upload-services.js';
import { DEFAULT_UPLOAD_SETTINGS, type UploadQueueSettings } from '../uploads/upload-settings.js';
import { startUploadWorker, type UploadWorkerHandle, uploadGate } from './upload-worker.js';

/** What src/main.ts builds for /ckpt uploads: services for commands now, the worker once Slack is up. */
export interface UploadRuntime {
  readonly services: UploadServices;
  start(messenger: Messenger): Promise<void>;
  close(): Promise<void>;
}

export function createUploadRuntime(opts: {
  factory: QueueFactory;
  transport: Transport;
  slurm: SlurmClient;
  config: Config;
  log: Logger;
  settings?: UploadQueueSettings;
}): UploadRuntime {
  const settings = opts.settings ?? DEFAULT_UPLOAD_SETTINGS;
  const queue = opts.factory.queue<UploadJobData, UploadResult>(UPLOAD_QUEUE);
  const batches = new BatchThreads(
    opts.factory.redis(),
    opts.factory.keyPrefix(UPLOAD_QUEUE),
    null,
    3_000,
    (err) => opts.log.warn({ err: String(err) }, 'upload progress message failed'),
  );
  const service = new UploadQueueService(queue, uploadGate(opts.factory, settings));
  let worker: UploadWorkerHandle | null = null;
  return {
    services: { queue: service, batches },
    async start(messenger) {
      batches.attach(messenger);
      worker = await startUploadWorker({
        factory: opts.factory,
        cluster: new SlurmPipelineCluster(opts.slurm, opts.transport),
        pipeline: {
          script: opts.config.PIPELINE_SBATCH,
          checkpointsBaseDir: opts.config.CHECKPOINTS_BASE_DIR,
          logsDir: opts.config.LOGS_DIR,
        },
        settings,
        progress: batches,
        log: opts.log,
      });
    },
    async close() {
      await worker?.close(5_000);
    },
  };
}
