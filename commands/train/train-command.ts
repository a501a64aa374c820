import { defineAction, defineCommand, defineSubcommand } from '../core/command.js';
import {
  CANCEL_ACTION,
  CANCEL_USAGE,
  LOGS_USAGE,
  MAX_LOG_BYTES,
  MAX_LOG_LINES,
  RESUBMIT_ACTION,
  SCAN_LOG_USAGE,
  STATUS_USAGE,
  SUBMIT_ANYWAY_ACTION,
  SUBMIT_USAGE,
} from './spec.js';

// /train — one entry per subcommand: what help shows and the dispatcher checks. Each one's schema and code
// live in its own file (commands/train/<name>.ts), imported when it runs.
export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Submit, watch and manage GPT-NeoX training jobs on Slurm',
  usageHint: 'submit <config> | status <jobid> | logs <jobid> [n] | cancel <jobid> | list [user] | help',
  subcommands: [
    defineSubcommand({
      name: 'submit',
      summary: 'Preflight a NeoX config, sbatch it, and watch the first 50 iterations',
      usage: SUBMIT_USAGE,
      help: [
        'Checks the config on the cluster first (absolute path, valid YAML, data paths, `save` writable, the',
        '`load`/`iteration` checkpoint, `log_interval` ≤ 10), then submits TRAIN_SBATCH with the absolute config.',
        'The bot never edits the config. A thread follows with the 50-iteration report and any diagnosis.',
        'Example: `/train submit /home/me/neox/configs/exp/config.yml --time 24:00:00`.',
      ].join('\n'),
      permission: 'operate',
      positionals: ['config'],
      flags: { name: 'string', nodes: 'string', time: 'string', partition: 'string' },
      load: async () => (await import('./submit.js')).trainSubmit,
    }),
    defineSubcommand({
      name: 'status',
      summary: 'State, iteration, loss sparkline, ETA and findings of a training job',
      usage: STATUS_USAGE,
      help: 'Shows the Slurm state and what the log says: iteration of total, recent losses, time per iteration, ETA, and any diagnosed failure.',
      permission: 'read',
      positionals: ['jobId'],
      load: async () => (await import('./status.js')).trainStatus,
    }),
    defineSubcommand({
      name: 'logs',
      summary: 'The last lines of a training job’s log',
      usage: LOGS_USAGE,
      help: `Shows the end of <LOGS_DIR>/training/neox-training-<jobid>.out: 50 lines by default, at most ${MAX_LOG_LINES} (and ${MAX_LOG_BYTES / (1024 * 1024)} MiB). What does not fit in the message is attached whole as a file.`,
      permission: 'read',
      positionals: ['jobId', 'lines'],
      load: async () => (await import('./logs.js')).trainLogs,
    }),
    defineSubcommand({
      name: 'cancel',
      summary: 'Cancel a training job (asks to confirm)',
      usage: CANCEL_USAGE,
      help: 'Shows the job and a confirm button; the job is cancelled (scancel) only when the button is clicked.',
      permission: 'operate',
      positionals: ['jobId'],
      load: async () => (await import('./cancel.js')).trainCancel,
    }),
    defineSubcommand({
      name: 'list',
      summary: "The team's running and pending Slurm jobs",
      usage: '/train list [user]',
      help: [
        'Shows running jobs first, then pending ones, with elapsed time and nodes (or why a job waits).',
        'Give a cluster user name to see only their jobs: `/train list alice`.',
      ].join('\n'),
      permission: 'read',
      positionals: ['user'],
      load: async () => (await import('./list.js')).trainList,
    }),
    defineSubcommand({
      name: 'scan-log',
      summary: 'Scan a GPT-NeoX log file for iterations, loss and known failures (offline)',
      usage: SCAN_LOG_USAGE,
      help: [
        'Parses a local GPT-NeoX training log: the last iteration, train-iters, iteration lines logged, the last',
        'loss, and findings (cuda_oom, nan_loss, data_path_not_found, …) with their action and line number.',
        'Example: `chatops train scan-log neox-training-123.out --json`.',
      ].join('\n'),
      permission: 'read',
      surfaces: ['cli'],
      positionals: ['file'],
      load: async () => (await import('./scan-log.js')).trainScanLog,
    }),
  ],
  actions: [
    // "Submit anyway" after a warning.
    defineAction({
      id: SUBMIT_ANYWAY_ACTION,
      permission: 'operate',
      load: async () => (await import('./submit.js')).trainSubmitAnyway,
    }),
    defineAction({
      id: CANCEL_ACTION,
      permission: 'operate',
      load: async () => (await import('./cancel.js')).trainCancelAction,
    }),
    // "Resubmit with this fix" on a diagnosis.
    defineAction({
      id: RESUBMIT_ACTION,
      permission: 'operate',
      load: async () => (await import('./resubmit.js')).trainResubmitAction,
    }),
  ],
});
