import type { Redis } from 'ioredis';
import type { Services } from '../../commands/core/services.js';
import type { AuditSink } from '../audit.js';
import { auditingTransport } from '../cluster/audited-transport.js';
import { CheckpointFiles } from '../cluster/checkpoint-files.js';
import { ClusterFiles } from '../cluster/cluster-files.js';
import { createTransport, unconfiguredTransport } from '../cluster/create-transport.js';
import { limitedTransport } from '../cluster/limited-transport.js';
import { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import { type Metrics, noMetrics } from '../metrics.js';
import type { SampledGauge } from '../ops/prom-metrics.js';
import type { ReadinessCheck } from '../ops/readiness.js';
import { QueueFactory } from '../queue/queue-factory.js';
import { type ActionDedupe, redisActionDedupe } from '../slack/action-dedupe.js';
import { createDigestFeature } from './digest.js';
import type { FeatureDeps } from './feature.js';
import { clusterReadiness, queueGauges, redisReadiness } from './ops.js';
import { type SessionWorkOptions, waitForSessionWork } from './session-work.js';
import { createTrainFeature } from './train.js';
import { createUploadFeature } from './uploads.js';

// What every process of the bot builds from the config: the cluster transport, the Slurm client, the queues and
// each feature's services. The Slack bot (src/main.ts) and the CLI (cli.ts) both start from here.

export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly audit: AuditSink;
  /** What commands are given: every member built, nothing started. */
  readonly services: Services;
  /** Button clicks already handled, in Redis so every replica and restart sees them (src/slack/slack-listeners.ts). */
  readonly actionDedupe: ActionDedupe;
  /** Start every feature's background work (workers, watches, cron): the bot does, the CLI never. */
  start(): Promise<void>;
  /** The console's `wait`: until this process's session work has settled (src/app/session-work.ts). */
  waitForWork(o: SessionWorkOptions): Promise<boolean>;
  /** The shutdown's first step: no new cron ticks; running work goes on until close(). */
  stopIntake(): Promise<void>;
  /** Stop the background work, then close queues and the cluster connection, in reverse order of creation. */
  close(): Promise<void>;
  /** Readiness of Redis and the cluster, for the ops server (src/app/ops.ts). */
  readonly checks: readonly ReadinessCheck[];
  /** Queue depths and active watches, read on every scrape. */
  readonly gauges: readonly SampledGauge[];
}

export interface RuntimeOptions {
  /**
   * Where the features post out-of-band messages: the console's, or a builder given the process's Redis
   * (Slack's messenger keeps its workspace-wide budget and long button payloads there).
   */
  readonly messenger:
    | Messenger
    | ((shared: { readonly redis: Redis; readonly keyPrefix: string }) => Messenger);
  /** Extra environment for a local transport (the demo's SLURM_CONF). */
  readonly localEnv?: Readonly<Record<string, string>>;
  /** The CLI without cluster settings: cluster commands fail naming these, offline ones still run. */
  readonly clusterProblems?: readonly string[];
  /** Where the rooms count and time their work (the bot's Prometheus registry); none by default. */
  readonly metrics?: Metrics;
}

// The environment a process starts from (read-env.ts stays light: the CLI reads it before choosing what to load).
export { readEnv } from './read-env.js';

export async function buildRuntime(
  config: Config,
  log: Logger,
  audit: AuditSink,
  opts: RuntimeOptions,
): Promise<Runtime> {
  const closers: (() => Promise<void>)[] = [];
  const metrics = opts.metrics ?? noMetrics;
  // Every argv run on the cluster is attributed to the invocation that caused it (src/audit.ts).
  const raw: Transport =
    opts.clusterProblems && opts.clusterProblems.length > 0
      ? unconfiguredTransport(opts.clusterProblems)
      : createTransport(config, {
          logger: log.child({ component: 'transport' }),
          metrics,
          ...(opts.localEnv ? { localEnv: opts.localEnv } : {}),
        });
  // Bounded like the SSH transport's channels, so a burst of commands cannot flood the login node.
  const limited = limitedTransport(raw, config.SSH_MAX_CHANNELS);
  closers.push(() => limited.close());
  const transport = auditingTransport(limited);
  const slurm = new SlurmClient(transport);
  // The process's one QueueFactory (src/queue/README.md); it connects to Redis only when a queue is used.
  const queues = new QueueFactory({
    redisUrl: config.REDIS_URL,
    prefix: 'chatops',
    onError: (err, source) => log.warn({ err, source }, 'queue error'),
    // Once each way, however many clients notice.
    onConnection: (c) =>
      c.state === 'lost'
        ? log.warn({ err: c.err }, 'Redis connection lost: queues, uploads and clicks wait until it is back')
        : log.info({ downMs: c.downMs }, 'Redis connection back'),
  });
  closers.push(() => queues.close());
  const messenger =
    typeof opts.messenger === 'function'
      ? opts.messenger({ redis: queues.redis(), keyPrefix: queues.keyPrefix('slack') })
      : opts.messenger;

  const files = new ClusterFiles(transport);
  const deps = (component: string): FeatureDeps => ({
    factory: queues,
    transport,
    slurm,
    files,
    config,
    log: log.child({ component }),
    messenger,
    metrics,
  });
  const train = createTrainFeature(deps('train'));
  const uploads = createUploadFeature(deps('uploads'));
  const digest = createDigestFeature(deps('digest'), train.services);
  for (const f of [train, uploads, digest]) closers.push(() => f.close());

  const services: Services = {
    slurm,
    checkpoints: new CheckpointFiles(transport),
    files,
    messenger,
    digest: digest.services,
    train: train.services,
    uploads: uploads.services,
  };
  // Connects to Redis on the first click only: a CLI command never pays for it.
  let clicks: ActionDedupe | undefined;
  const sharedClicks = () => {
    clicks ??= redisActionDedupe(queues.redis(), queues.keyPrefix('slack-actions'));
    return clicks;
  };
  return {
    config,
    log,
    audit,
    services,
    checks: [redisReadiness(queues), clusterReadiness(raw, limited)],
    gauges: queueGauges(queues),
    actionDedupe: {
      claim: (key, ttlMs) => sharedClicks().claim(key, ttlMs),
      release: (key) => sharedClicks().release(key),
    },
    async start() {
      // The watches and the digest first: the upload worker's start waits on Redis.
      for (const f of [train, digest, uploads]) await f.start();
    },
    async stopIntake() {
      for (const f of [digest, uploads, train]) await f.stopIntake?.();
    },
    // A batch's last edit and its closing message are throttled: show them before saying "settled".
    waitForWork: (o) =>
      waitForSessionWork(queues, { flush: () => uploads.services.batches.flushAll(), ...o }),
    async close() {
      for (const c of closers.reverse()) {
        await c().catch((err: unknown) => log.warn({ err }, 'error while shutting down'));
      }
    },
  };
}
