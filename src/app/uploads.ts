import { PipelineRuns } from '../cluster/pipeline-runs.js';
import { BatchThreads } from '../uploads/batch-progress.js';
import { createUploadGate } from '../uploads/create-upload-gate.js';
import { UPLOAD_QUEUE, type UploadJobData, type UploadResult } from '../uploads/upload-job.js';
import { UploadQueueService } from '../uploads/upload-queue-service.js';
import type { UploadServices } from '../uploads/upload-services.js';
import { type UploadQueueSettings, uploadSettingsFrom } from '../uploads/upload-settings.js';
import type { Feature, FeatureDeps } from './feature.js';
import { startUploadWorker, type UploadWorkerHandle } from './upload-worker.js';

/** Checkpoint uploads: the queue and batch threads for commands at once, the worker on start(). */
export function createUploadFeature(
  deps: FeatureDeps,
  settings: UploadQueueSettings = uploadSettingsFrom(deps.config),
): Feature<UploadServices> {
  // Built on first use: a CLI command that never touches the upload queue opens no Redis connection for it.
  let batches: BatchThreads | undefined;
  let service: UploadQueueService | undefined;
  const batchThreads = () =>
    (batches ??= new BatchThreads(
      deps.factory.redis(),
      deps.factory.keyPrefix(UPLOAD_QUEUE),
      deps.messenger,
      3_000,
      (err) => deps.log.warn({ err: String(err) }, 'upload progress message failed'),
    ));
  const queueService = () =>
    (service ??= new UploadQueueService(
      deps.factory.queue<UploadJobData, UploadResult>(UPLOAD_QUEUE),
      createUploadGate(deps.factory, settings),
      deps.log,
    ));
  let worker: UploadWorkerHandle | null = null;
  return {
    services: {
      get queue() {
        return queueService();
      },
      get batches() {
        return batchThreads();
      },
    },
    async start() {
      worker = await startUploadWorker({
        factory: deps.factory,
        cluster: new PipelineRuns(deps.slurm, deps.transport),
        pipeline: {
          script: deps.config.PIPELINE_SBATCH,
          checkpointsBaseDir: deps.config.CHECKPOINTS_BASE_DIR,
          logsDir: deps.config.LOGS_DIR,
        },
        settings,
        progress: batchThreads(),
        log: deps.log,
        metrics: deps.metrics,
      });
      // What a crashed process left unsent (a batch's last edit, its closing reply) goes out now.
      void batchThreads()
        .recover()
        .catch((err: unknown) => deps.log.warn({ err: String(err) }, 'reopening upload batches failed'));
    },
    async close() {
      await worker?.close(5_000);
      batches?.stop();
    },
  };
}
