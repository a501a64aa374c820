import type { LogEnd, PipelineSubmission, RecentRun, TrackedState } from '../cluster/pipeline-runs.js';

/**
 * Everything the upload worker does on the cluster, each a single remote command whatever the number of
 * jobs. src/cluster/pipeline-runs.ts implements it on Slurm.
 */
export interface PipelineCluster {
  submit(s: PipelineSubmission): Promise<string>;
  /** Runs still known to Slurm with this job name and comment (normally zero or one). */
  findSubmitted(jobName: string, comment: string): Promise<string[]>;
  /** Pipeline logs in `<logsDir>/checkpoint_pipeline` modified after `sinceS` (epoch seconds), in one command. */
  recentRuns(logsDir: string, sinceS: number): Promise<RecentRun[]>;
  /** One squeue for all ids; an id missing from the map has left the queue (ended). */
  states(ids: readonly string[]): Promise<Map<string, TrackedState>>;
  /** The log's telling lines (pattern matches + its last lines), or null when the log does not exist. */
  readLog(path: string): Promise<string[] | null>;
  /** Log sizes without a command (null as a whole when that is not possible); lets the watcher see a run end early. */
  logSizes?(paths: readonly string[]): Promise<(number | null)[] | null>;
  /** Whether each log has reached its completion line, in one command. */
  logEnds?(paths: readonly string[]): Promise<LogEnd[]>;
}
