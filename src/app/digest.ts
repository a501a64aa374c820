import { failedUploadsSweep } from '../../jobs/sweeps/failed-uploads.js';
import { stalledTrainingSweep } from '../../jobs/sweeps/stalled-training.js';
import { SWEEPS_QUEUE, type Sweep } from '../../jobs/sweeps/sweep.js';
import { uploadPauseSweep } from '../../jobs/sweeps/upload-pause.js';
import { LocalTransport } from '../cluster/local/local-transport.js';
import { PipelineScanner } from '../cluster/pipeline-scanner.js';
import { type DigestServices, DigestSource, localDigestSource } from '../digest/digest-source.js';
import { LogSweeper } from '../digest/log-sweeper.js';
import { RedisScanStore } from '../digest/scan-store.js';
import type { QueueFactory } from '../queue/queue-factory.js';
import type { TrainServices } from '../training/train-services.js';
import { createUploadGate } from '../uploads/create-upload-gate.js';
import { UPLOAD_QUEUE } from '../uploads/upload-job.js';
import { uploadSettingsFrom } from '../uploads/upload-settings.js';
import { startDigestSchedules } from './digest-schedules.js';
import type { Feature, FeatureDeps } from './feature.js';

// The digest: its cluster source for commands at once; on start(), the digest and sweep workers and their
// cron schedules. Building it connects to nothing (the CLI builds it too).

export function createDigestFeature(deps: FeatureDeps, train: TrainServices): Feature<DigestServices> {
  const { factory, config, log, messenger } = deps;
  let redis: ReturnType<QueueFactory['redis']> | null = null;
  const lazyRedis = () => {
    redis ??= factory.redis();
    return redis;
  };
  const logs = config.LOGS_DIR.replace(/\/+$/, '');
  const store = new RedisScanStore({ redis: lazyRedis, prefix: factory.prefix });
  const cluster = new DigestSource(
    `${logs}/checkpoint_pipeline`,
    new LogSweeper({ scanner: new PipelineScanner(deps.transport), store, metrics: deps.metrics }),
  );
  let running: { stopCron(): Promise<void>; close(): Promise<void> } | null = null;
  return {
    services: {
      cluster,
      local: (dir) => localDigestSource(dir, new PipelineScanner(new LocalTransport())),
    },
    async start() {
      if (running) return;
      const channel = config.DIGEST_CHANNEL;
      const keyPrefix = factory.keyPrefix(UPLOAD_QUEUE);
      const sweeps: Sweep[] = [
        failedUploadsSweep({ queue: factory.queue(UPLOAD_QUEUE), redis: lazyRedis(), keyPrefix }),
        uploadPauseSweep({
          pause: () => createUploadGate(factory, uploadSettingsFrom(config)).pause(),
          redis: lazyRedis(),
          keyPrefix,
        }),
        stalledTrainingSweep({
          files: deps.files,
          running: async () =>
            (await deps.slurm.queueSummary()).jobs.filter((j) => j.state === 'RUNNING').map((j) => j.id),
          logDir: `${logs}/training`,
          redis: lazyRedis(),
          keyPrefix: factory.keyPrefix(SWEEPS_QUEUE),
          isWatched: async (id: string) => (await train.monitor.get(id)) != null,
          ...(channel
            ? {
                handOff: (jobId: string, logPath: string) =>
                  train.monitor.watch({
                    jobId,
                    logPath,
                    configPath: null,
                    save: null,
                    saveInterval: null,
                    submitter: null,
                    channel,
                    threadTs: null,
                  }),
              }
            : {}),
        }),
      ];
      running = startDigestSchedules({ factory, config, messenger, source: cluster, log, sweeps });
    },
    async stopIntake() {
      await running?.stopCron();
    },
    async close() {
      await running?.close();
    },
  };
}
