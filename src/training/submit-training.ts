import { posix } from 'node:path';
import type { ConfigProbe } from '../neox/config-probe.js';
import { type PreflightResult, preflight } from '../neox/preflight.js';

// `/train submit`: preflight on the cluster, then sbatch of TRAIN_SBATCH with the absolute config. The log
// path is pinned with --output so the watch knows where to read whatever the script's own #SBATCH says.

export interface TrainSubmitter {
  submit(opts: {
    script: string;
    args: string[];
    jobName: string;
    comment?: string;
    output?: string;
    partition?: string;
    time?: string;
    nodes?: number;
  }): Promise<{ jobId: string; argv: readonly string[] }>;
}

export interface SubmitTrainingDeps {
  /** Where the preflight looks at the config and its paths (ClusterFiles). */
  readonly files: ConfigProbe;
  readonly slurm: TrainSubmitter;
  readonly neoxDir: string;
  readonly trainSbatch: string;
  readonly logsDir: string;
  /**
   * Runs right before sbatch with the request's own `--comment`: where to record what must follow the
   * submission (its watch), so a process that dies while sbatch runs leaves it behind for the next one.
   */
  readonly beforeSubmit?: (pf: PreflightResult, comment: string) => Promise<void>;
}

export interface SubmitTrainingInput {
  readonly config: string;
  readonly name?: string | undefined;
  readonly nodes?: number | undefined;
  readonly time?: string | undefined;
  readonly partition?: string | undefined;
  /** Who asked: goes into the job's --comment so the queue shows it. */
  readonly requestedBy: string;
  /** The user saw the warnings and chose to submit anyway. */
  readonly acceptWarnings?: boolean | undefined;
}

export type SubmitTrainingResult =
  | { readonly kind: 'blocked'; readonly preflight: PreflightResult }
  | { readonly kind: 'needs-confirmation'; readonly preflight: PreflightResult }
  | {
      readonly kind: 'submitted';
      readonly preflight: PreflightResult;
      readonly jobId: string;
      readonly jobName: string;
      readonly logPath: string;
      readonly argv: readonly string[];
      /** The job's `--comment`, unique to this request. */
      readonly comment: string;
    };

export function trainingLogPath(logsDir: string, jobId: string): string {
  return posix.join(logsDir, 'training', `neox-training-${jobId}.out`);
}

/** A Slurm job name from the config file name: `exp_seed42.yml` → `exp_seed42`. */
export function jobNameFor(configPath: string): string {
  const base = posix.basename(configPath).replace(/\.(?:ya?ml|json)$/i, '');
  const cleaned = base.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'neox-training').slice(0, 128);
}

export async function submitTraining(
  deps: SubmitTrainingDeps,
  input: SubmitTrainingInput,
): Promise<SubmitTrainingResult> {
  const pf = await preflight(deps.files, {
    config: input.config,
    neoxDir: deps.neoxDir,
    logDir: posix.join(deps.logsDir, 'training'),
  });
  if (pf.problems.length > 0) return { kind: 'blocked', preflight: pf };
  if (pf.warnings.length > 0 && !input.acceptWarnings) return { kind: 'needs-confirmation', preflight: pf };
  const jobName = input.name ?? jobNameFor(pf.configPath);
  // Who asked, and this request's own token: a submit whose connection died is found by it, never resent.
  const comment = `chatops:${input.requestedBy}:${crypto.randomUUID().slice(0, 8)}`;
  await deps.beforeSubmit?.(pf, comment);
  const r = await deps.slurm.submit({
    script: deps.trainSbatch,
    args: [pf.configPath],
    jobName,
    comment,
    output: posix.join(deps.logsDir, 'training', 'neox-training-%j.out'),
    ...(input.partition ? { partition: input.partition } : {}),
    ...(input.time ? { time: input.time } : {}),
    ...(input.nodes ? { nodes: input.nodes } : {}),
  });
  return {
    kind: 'submitted',
    preflight: pf,
    jobId: r.jobId,
    jobName,
    logPath: trainingLogPath(deps.logsDir, r.jobId),
    argv: r.argv,
    comment,
  };
}
