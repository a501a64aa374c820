import type { UploadJobData } from '../src/uploads/upload-job.js';

// How a checkpoint's pipeline run is named on the cluster: its log file, its Slurm job name, and the
// comment that lets a resumed upload find the run it submitted.

export function pipelineLogPath(logsDir: string, slurmJobId: string): string {
  return `${logsDir.replace(/\/+$/, '')}/checkpoint_pipeline/checkpoint_pipeline_${slurmJobId}.out`;
}

export function pipelineJobName(d: Pick<UploadJobData, 'experiment' | 'step'>): string {
  return `ckpt-${d.step}-${d.experiment}`.slice(0, 128);
}

/** Unique per pipeline run of a job, so a resumed job adopts its own run and never an earlier one. */
export function runComment(jobId: string, retries: number): string {
  return `chatops-upload:${jobId}:run${retries}`;
}
