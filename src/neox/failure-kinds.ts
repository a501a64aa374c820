import * as z from '../zod.js';

// The one failure vocabulary (docs/domain.md#failure-kinds): the classifier, the Slack messages and `scan-log --json` use it.

export const FailureKind = z.enum([
  'cuda_oom',
  'host_oom',
  'nan_loss',
  'loss_spike',
  'checkpoint_load_skipped',
  'checkpoint_not_found',
  'data_path_not_found',
  'module_not_found',
  'nccl_timeout',
  'time_limit',
  'stalled',
  'unknown_error',
]);
export type FailureKind = z.infer<typeof FailureKind>;

export const FailureAction = z.enum(['escalate', 'auto-fix', 'transient', 'info']);
export type FailureAction = z.infer<typeof FailureAction>;

export const ACTION: Readonly<Record<FailureKind, FailureAction>> = {
  cuda_oom: 'escalate',
  host_oom: 'escalate',
  nan_loss: 'escalate',
  loss_spike: 'escalate',
  checkpoint_load_skipped: 'escalate',
  checkpoint_not_found: 'auto-fix',
  data_path_not_found: 'auto-fix',
  module_not_found: 'auto-fix',
  nccl_timeout: 'transient',
  time_limit: 'info',
  stalled: 'escalate',
  unknown_error: 'escalate',
};

/** What each kind means, in the words the Slack message uses. */
export const DIAGNOSIS: Readonly<Record<FailureKind, string>> = {
  cuda_oom: 'CUDA out of memory on a GPU.',
  host_oom: 'The node ran out of host memory (Slurm killed a process).',
  nan_loss: 'The training loss became NaN.',
  loss_spike: 'The loss spiked: above twice the lowest value so far, or infinite.',
  checkpoint_load_skipped:
    'NeoX could not load the checkpoint ("Unable to load checkpoint.") and restarted from step 0.',
  checkpoint_not_found: 'The checkpoint to resume from does not exist (wrong `iteration` or `load`).',
  data_path_not_found: 'A data path in the config does not exist.',
  module_not_found: 'A Python module is missing: the UV venv is most likely not activated.',
  nccl_timeout: 'An NCCL collective timed out or failed (often a transient network problem).',
  time_limit: 'Slurm cancelled the job at its time limit.',
  stalled: 'No new iteration for much longer than the usual time per iteration, while the job is running.',
  unknown_error: 'A Python traceback that matches no known failure.',
};

export interface Finding {
  readonly kind: FailureKind;
  readonly action: FailureAction;
  /** 1-based line number in the log (for `stalled`, the line of the last iteration seen). */
  readonly line: number;
  readonly excerpt: string;
  /** The last iteration logged before it, where the scanner knows it (marked on the loss chart). */
  readonly iteration?: number;
}

export const MAX_EXCERPT_CHARS = 500;

export function excerpt(text: string): string {
  const t = text.trim();
  return t.length <= MAX_EXCERPT_CHARS ? t : `${t.slice(0, MAX_EXCERPT_CHARS - 1)}…`;
}

export function finding(kind: FailureKind, line: number, text: string): Finding {
  return { kind, action: ACTION[kind], line, excerpt: excerpt(text) };
}
