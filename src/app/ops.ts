import { MONITOR_QUEUE } from '../../jobs/monitor-training.js';
import { SshTransport } from '../cluster/ssh/ssh-transport.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { type OpsServer, startOpsServer } from '../ops/ops-server.js';
import type { PromMetrics, SampledGauge } from '../ops/prom-metrics.js';
import type { ReadinessCheck } from '../ops/readiness.js';
import type { QueueFactory } from '../queue/queue-factory.js';
import { checkRedisSettings } from '../queue/redis-check.js';
import { createRedisConnection } from '../queue/redis-connection.js';
import { UPLOAD_QUEUE } from '../uploads/upload-job.js';

// The bot's operations wiring: the start-up check of Redis, the readiness checks of Redis and the cluster,
// the gauges sampled on every scrape, and the ops server (src/ops). The Slack connection's check is added
// by the composition root, which owns the bot.

/**
 * Refuse to start on a Redis BullMQ cannot run on; warn about one that forgets everything on restart. An
 * unreachable Redis is only a warning here: the bot waits for it, and /readyz reports it.
 */
export async function checkRedisAtStart(url: string, log: Logger): Promise<string[]> {
  const redis = createRedisConnection(url, 'command', {
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.ping();
  } catch (e) {
    log.warn(
      { err: String(e), redis: redactUrl(url) },
      'Redis is not reachable at start-up: its settings were not checked; the bot waits for it (see /readyz)',
    );
    redis.disconnect();
    return [];
  }
  try {
    const report = await checkRedisSettings(redis);
    for (const w of report.warnings) log.warn({ redis: redactUrl(url) }, w);
    return [...report.problems];
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** PING on a connection of its own, so a readiness probe never waits behind a worker's blocking call. */
export function redisReadiness(factory: QueueFactory): ReadinessCheck {
  let redis: ReturnType<QueueFactory['redis']> | null = null;
  let lastError = '';
  return {
    name: 'redis',
    async check() {
      if (!redis) {
        redis = factory.redis();
        redis.on('error', (e: Error) => {
          lastError = e.message;
        });
      }
      if (redis.status !== 'ready' && redis.status !== 'connect' && redis.status !== 'connecting') {
        return { ok: false, reason: `not connected (${redis.status})${lastError ? `: ${lastError}` : ''}` };
      }
      try {
        const pong = await redis.ping();
        return { ok: pong === 'PONG', reason: pong };
      } catch (e) {
        return { ok: false, reason: lastError || (e as Error).message };
      }
    },
  };
}

/**
 * The cluster: over SSH, the pooled connection's state; when nothing has opened it yet (an idle bot), one
 * `true` opens it. A bot on the login node (local transport) is always ready.
 */
export function clusterReadiness(raw: Transport, run: Transport): ReadinessCheck {
  return {
    name: 'cluster',
    async check() {
      if (!(raw instanceof SshTransport)) {
        // The unconfigured stand-in refuses every command with the settings to fix.
        return run
          .run(['true'], { timeoutMs: 1_500 })
          .then(() => ({ ok: true, reason: 'local transport (the bot runs on the login node)' }));
      }
      if (raw.status.connected) return { ok: true, reason: raw.status.detail };
      try {
        await run.run(['true'], { timeoutMs: 1_500 });
        return { ok: true, reason: raw.status.detail };
      } catch (e) {
        return { ok: false, reason: `${raw.status.detail} (${(e as Error).message})` };
      }
    },
  };
}

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

/** Queue depths by state and the active training watches, read from Redis when Prometheus scrapes. */
export function queueGauges(factory: QueueFactory): SampledGauge[] {
  const counts = async (name: string) => factory.queue(name).getJobCounts(...STATES);
  return [
    {
      name: 'chatops_queue_jobs',
      help: 'Jobs in the upload and training-watch queues, by state',
      labelNames: ['queue', 'state'],
      async sample() {
        const out: { labels: Record<string, string>; value: number }[] = [];
        for (const queue of [UPLOAD_QUEUE, MONITOR_QUEUE]) {
          const c = await counts(queue);
          for (const state of STATES) out.push({ labels: { queue, state }, value: c[state] ?? 0 });
        }
        return out;
      },
    },
    {
      name: 'chatops_training_watches_active',
      help: 'Training watches not yet ended (running, or waiting for a worker)',
      labelNames: [],
      async sample() {
        const c = await counts(MONITOR_QUEUE);
        const n = (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
        return [{ labels: {}, value: n }];
      },
    },
  ];
}

/** The ops server unless OPS_PORT=0. */
export async function startOps(
  config: Pick<Config, 'OPS_PORT' | 'OPS_HOST'>,
  metrics: PromMetrics,
  checks: readonly ReadinessCheck[],
  log: Logger,
): Promise<OpsServer | null> {
  if (config.OPS_PORT === 0) {
    log.info({}, 'ops server off (OPS_PORT=0)');
    return null;
  }
  return startOpsServer({
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    registry: metrics.registry,
    checks,
    log,
  });
}

/** A Redis URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}
