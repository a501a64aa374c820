import type { ScanLogResult } from '../neox/scan-log.js';
import type { WatchData, WatchRequest } from '../neox/watch-state.js';

/** What /train needs beyond the cluster's files and Slurm. */
export interface TrainServices {
  /** The durable watch (jobs/monitor-training.ts). */
  readonly monitor: {
    /** Before sbatch: the watch to start, kept under the job's comment until `watch` runs (a crash between). */
    expect(comment: string, req: Omit<WatchRequest, 'jobId' | 'logPath'>, logPath: string): Promise<void>;
    watch(req: WatchRequest, opts?: { readonly comment?: string }): Promise<void>;
    get(jobId: string): Promise<WatchData | null>;
  };
  /** Offline: scan a log file on this machine (`chatops train scan-log`); LogFileError when unreadable. */
  scanLogFile(path: string): Promise<ScanLogResult>;
}
