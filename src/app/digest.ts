import {
  DIGEST_QUEUE,
  enqueueDigest,
  type PostDigestData,
  startDigestWorker,
} from '../../jobs/post-digest.js';
import { failedUploadsSweep } from '../../jobs/sweeps/failed-uploads.js';
import { stalledTrainingSweep } from '../../jobs/sweeps/stalled-training.js';
import {
  enqueueSweep,
  SWEEPS_QUEUE,
  type Sweep,
  type SweepJobData,
  startSweepWorker,
} from '../../jobs/sweeps/sweep.js';
import { uploadPauseSweep } from '../../jobs/sweeps/upload-pause.js';
import type { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import { type CronSchedule, type Scheduler, startScheduler } from '../cron.js';
import { type DigestServices, DigestSource, localDigestSource } from '../digest/digest-source.js';
import { LogScanner } from '../digest/log-sweeper.js';
import { RedisScanStore } from '../digest/scan-store.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { QueueFactory, RunningWorker } from '../queue/queue-factory.js';
import type { TrainServices } from '../training/train-services.js';
import { UPLOAD_QUEUE } from '../uploads/upload-job.js';
import { DEFAULT_UPLOAD_SETTINGS } from '../uploads/upload-settings.js';
import { uploadGate } from './upload-worker.js';

// What src/main.ts builds for the digest, like the /train runtime: services for commands now, schedules
// once the Slack messenger exists. Building it connects to nothing (the CLI builds it too).

export interface DigestRuntime {
  readonly services: DigestServices & { readonly cluster: DigestSource };
  /** Start the digest and sweep workers and the cron schedules (needs DIGEST_CHANNEL; warns without it). */
  start(messenger: Messenger): void;
  close(): Promise<void>;
}

export function createDigestRuntime(deps: {
  readonly factory: QueueFactory;
  readonly transport: Transport;
  readonly slurm: Pick<SlurmClient, 'queueSummary'>;
  readonly config: Pick<Config, 'LOGS_DIR' | 'DIGEST_CHANNEL' | 'DIGEST_CRON' | 'TZ'>;
  readonly log: Logger;
  readonly train?: TrainServices;
}): DigestRuntime {
  const { factory, config, log } = deps;
  let redis: ReturnType<QueueFactory['redis']> | null = null;
  const lazyRedis = () => {
    redis ??= factory.redis();
    return redis;
  };
  const logs = config.LOGS_DIR.replace(/\/+$/, '');
  const store = new RedisScanStore({ redis: lazyRedis, prefix: factory.prefix });
  const cluster = new DigestSource(
    `${logs}/checkpoint_pipeline`,
    new LogScanner({ transport: deps.transport, store }),
  );
  let running: { close(): Promise<void> } | null = null;
  return {
    services: { cluster, local: localDigestSource },
    start(messenger) {
      if (running) return;
      const channel = config.DIGEST_CHANNEL;
      const keyPrefix = factory.keyPrefix(UPLOAD_QUEUE);
      const sweeps: Sweep[] = [
        failedUploadsSweep({ queue: factory.queue(UPLOAD_QUEUE), redis: lazyRedis(), keyPrefix }),
        uploadPauseSweep({
          pause: () => uploadGate(factory, DEFAULT_UPLOAD_SETTINGS).pause(),
          redis: lazyRedis(),
          keyPrefix,
        }),
        stalledTrainingSweep({
          transport: deps.transport,
          running: async () =>
            (await deps.slurm.queueSummary()).jobs.filter((j) => j.state === 'RUNNING').map((j) => j.id),
          logDir: `${logs}/training`,
          redis: lazyRedis(),
          keyPrefix: factory.keyPrefix(SWEEPS_QUEUE),
          ...(deps.train
            ? {
                isWatched: async (id: string) => (await deps.train?.monitor.get(id)) != null,
                ...(channel
                  ? {
                      handOff: (jobId: string, logPath: string) =>
                        deps.train?.monitor.watch({
                          jobId,
                          logPath,
                          configPath: null,
                          save: null,
                          saveInterval: null,
                          submitter: null,
                          channel,
                          threadTs: null,
                        }) ?? Promise.resolve(),
                    }
                  : {}),
              }
            : {}),
        }),
      ];
      running = startDigestSchedules({ factory, config, messenger, source: cluster, log, sweeps });
    },
    async close() {
      await running?.close();
    },
  };
}

export interface DigestSchedulesOptions {
  readonly factory: QueueFactory;
  readonly config: Pick<Config, 'DIGEST_CHANNEL' | 'DIGEST_CRON' | 'TZ'>;
  readonly messenger: Messenger;
  readonly source: DigestSource;
  readonly log: Logger;
  /** Other sweeps (jobs/sweeps/*), each on its own schedule; they post to DIGEST_CHANNEL too. */
  readonly sweeps?: readonly Sweep[];
}

/**
 * Starts the digest worker, the sweep worker and the cron schedules. Without DIGEST_CHANNEL nothing is
 * scheduled (the digest still answers on demand) and a warning says so.
 */
export function startDigestSchedules(opts: DigestSchedulesOptions): { close(): Promise<void> } {
  const channel = opts.config.DIGEST_CHANNEL;
  if (!channel) {
    opts.log.warn(
      {},
      'DIGEST_CHANNEL is not set: the daily digest and sweeps are not scheduled (/ckpt digest still works)',
    );
    return { close: async () => {} };
  }
  const workers: Pick<RunningWorker, 'close'>[] = [];
  workers.push(
    startDigestWorker(opts.factory, {
      source: opts.source,
      messenger: opts.messenger,
      channel,
      log: opts.log,
    }),
  );
  const digestQueue = opts.factory.queue<PostDigestData>(DIGEST_QUEUE);
  const schedules: CronSchedule[] = [
    {
      name: 'digest',
      expression: opts.config.DIGEST_CRON,
      tick: async (at) => {
        const id = await enqueueDigest(digestQueue, at, opts.config.TZ);
        opts.log.info({ id }, 'digest enqueued');
      },
    },
  ];
  const sweeps = opts.sweeps ?? [];
  if (sweeps.length > 0) {
    workers.push(startSweepWorker(opts.factory, { sweeps, messenger: opts.messenger, channel }));
    const sweepQueue = opts.factory.queue<SweepJobData>(SWEEPS_QUEUE);
    for (const s of sweeps) {
      schedules.push({
        name: s.name,
        expression: s.expression,
        tick: (at) => enqueueSweep(sweepQueue, s.name, at),
      });
    }
  }
  const scheduler: Scheduler = startScheduler(schedules, { timezone: opts.config.TZ, log: opts.log });
  return {
    async close() {
      await scheduler.stop();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
