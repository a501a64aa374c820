import type { ScanLogResult } from '../neox/scan-log.js';
import type { WatchData, WatchRequest } from '../neox/watch-state.js';

/** What /train needs beyond the cluster's files and Slurm. */
export interface TrainServices {
  /** The durable watch (jobs/monitor-training.ts). */
  readonly monitor: {
    watch(req: WatchRequest): Promise<void>;
    get(jobId: string): Promise<WatchData | null>;
  };
  /** Offline: scan a log file on this machine (`chatops train scan-log`); LogFileError when unreadable. */
  scanLogFile(path: string): Promise<ScanLogResult>;
}
