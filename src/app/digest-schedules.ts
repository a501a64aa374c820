import { hostname } from 'node:os';
import {
  DIGEST_QUEUE,
  enqueueDigest,
  type PostDigestData,
  startDigestWorker,
} from '../../jobs/post-digest.js';
import {
  enqueueSweep,
  SWEEPS_QUEUE,
  type Sweep,
  type SweepJobData,
  startSweepWorker,
} from '../../jobs/sweeps/sweep.js';
import type { Config } from '../config.js';
import { type CronCoordinator, type CronSchedule, type Scheduler, startScheduler } from '../cron.js';
import type { DigestSource } from '../digest/digest-source.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { QueueFactory, RunningWorker } from '../queue/queue-factory.js';

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
 * One replica per scheduled slot: `SET <prefix>:cron:<schedule>:<slot> <replica> NX PX <lease>`. Every
 * replica's clock matches the same slots, so the key is the same on all of them and exactly one SET wins.
 */
export function redisCronCoordinator(factory: QueueFactory, log: Logger): CronCoordinator {
  const redis = factory.redis();
  const prefix = factory.keyPrefix('cron');
  const replica = `${hostname()}:${process.pid}`;
  return {
    async claim(key, ttlMs) {
      const won = (await redis.set(`${prefix}${key}`, replica, 'PX', ttlMs, 'NX')) === 'OK';
      if (!won) log.debug({ slot: key }, 'another replica ticks this slot');
      return won;
    },
  };
}

/**
 * Starts the digest worker, the sweep worker and the cron schedules. Without DIGEST_CHANNEL nothing is
 * scheduled (the digest still answers on demand) and a warning says so.
 */
export function startDigestSchedules(opts: DigestSchedulesOptions): {
  /** No more ticks (the shutdown's first step); the workers keep running until close(). */
  stopCron(): Promise<void>;
  close(): Promise<void>;
} {
  const channel = opts.config.DIGEST_CHANNEL;
  if (!channel) {
    opts.log.warn(
      {},
      'DIGEST_CHANNEL is not set: the daily digest and sweeps are not scheduled (/ckpt digest still works)',
    );
    return { stopCron: async () => {}, close: async () => {} };
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
  const scheduler: Scheduler = startScheduler(schedules, {
    timezone: opts.config.TZ,
    log: opts.log,
    coordinator: redisCronCoordinator(opts.factory, opts.log),
  });
  return {
    stopCron: () => scheduler.stop(),
    async close() {
      await scheduler.stop();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
