import type { WatchData, WatchRequest } from '../neox/watch-state.js';

/** What /train needs beyond the cluster's files and Slurm: the durable watch (jobs/monitor-training.ts). */
export interface TrainServices {
  readonly monitor: {
    watch(req: WatchRequest): Promise<void>;
    get(jobId: string): Promise<WatchData | null>;
  };
}
