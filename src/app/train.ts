import { TrainingMonitor } from '../../jobs/monitor-training.js';
import { scanLogFile } from '../training/scan-log-file.js';
import type { TrainServices } from '../training/train-services.js';
import type { Feature, FeatureDeps } from './feature.js';

/** The durable training watch behind /train submit and /train status; its worker runs on start(). */
export function createTrainFeature(deps: FeatureDeps): Feature<TrainServices> {
  const monitor = new TrainingMonitor({
    factory: deps.factory,
    files: deps.files,
    slurm: deps.slurm,
    messenger: deps.messenger,
    neoxDir: deps.config.NEOX_DIR,
    log: deps.log,
    pollMs: Math.round(deps.config.WATCH_POLL_S * 1000),
  });
  return {
    services: { monitor, scanLogFile },
    start: async () => monitor.start(),
    close: () => monitor.close(),
  };
}
