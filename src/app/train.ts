import { TrainingMonitor } from '../../jobs/monitor-training.js';
import type { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { QueueFactory } from '../queue/queue-factory.js';
import type { TrainServices } from '../training/train-services.js';

/** Poll squeue and the watched logs this often: the tips document's loop slept 30 s. */
export const TRAIN_POLL_MS = 15_000;

export interface TrainRuntime {
  readonly services: TrainServices;
  /** Start (and resume) the watches once something can post: the Slack bot's messenger. */
  start(messenger: Messenger): void;
  close(): Promise<void>;
}

/** Built by src/main.ts: the durable watch behind /train submit and /train status. */
export function createTrainRuntime(deps: {
  readonly factory: QueueFactory;
  readonly transport: Transport;
  readonly slurm: SlurmClient;
  readonly config: Config;
  readonly log: Logger;
}): TrainRuntime {
  const monitor = new TrainingMonitor({
    factory: deps.factory,
    transport: deps.transport,
    slurm: deps.slurm,
    neoxDir: deps.config.NEOX_DIR,
    log: deps.log,
    pollMs: TRAIN_POLL_MS,
  });
  return {
    services: { monitor },
    start: (messenger) => monitor.start(messenger),
    close: () => monitor.close(),
  };
}
