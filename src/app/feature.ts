import type { ClusterFiles } from '../cluster/cluster-files.js';
import type { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { Metrics } from '../metrics.js';
import type { QueueFactory } from '../queue/queue-factory.js';

/** What the wiring hands every feature: built once per process by runtime.ts, before any feature. */
export interface FeatureDeps {
  readonly factory: QueueFactory;
  /** Audited and bounded; only src/cluster's typed services run it (PipelineRuns, PipelineScanner). */
  readonly transport: Transport;
  readonly slurm: SlurmClient;
  /** Configs and logs on the cluster, one instance per process (it holds no state). */
  readonly files: ClusterFiles;
  readonly config: Config;
  readonly log: Logger;
  readonly messenger: Messenger;
  /** Where the features count and time their work (noMetrics unless the bot runs an ops server). */
  readonly metrics: Metrics;
}

/**
 * A wired feature: its services for commands at once (building connects to nothing), its background work
 * (workers, watches, cron) only on start(), which the bot calls and the CLI never does.
 */
export interface Feature<S> {
  readonly services: S;
  start(): Promise<void>;
  /** Take no new work (cron ticks); what runs goes on until close(). */
  stopIntake?(): Promise<void>;
  close(): Promise<void>;
}
