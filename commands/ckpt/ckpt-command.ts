import { defineCommand, defineSubcommand } from '../core/command.js';
import { PERIOD_FLAGS } from '../digest/spec.js';
import { DIGEST_USAGE, STATUS_USAGE, UPLOAD_USAGE } from './spec.js';

// /ckpt — one entry per subcommand: what help shows and the dispatcher checks. Each one's schema and code
// live in its own file (commands/ckpt/<name>.ts), imported when it runs.
export const ckptCommand = defineCommand({
  name: 'ckpt',
  summary: 'Checkpoints: what exists, what reached the Hugging Face Hub, uploads',
  usageHint:
    'status <experiment> | upload <experiment> [org] | queue | retry <experiment> | digest | list | help',
  subcommands: [
    defineSubcommand({
      name: 'list',
      summary: 'Experiments under the checkpoint root, with how many global_step* checkpoints each has',
      usage: '/ckpt list',
      help: [
        'Lists every experiment directory under CHECKPOINTS_BASE_DIR that holds `global_step*` checkpoints,',
        'most checkpoints first, with the latest step. `/ckpt status <experiment>` shows one in detail.',
      ].join('\n'),
      permission: 'read',
      load: async () => (await import('./list.js')).ckptList,
    }),
    defineSubcommand({
      name: 'status',
      summary: 'Every global_step* of an experiment with its size and upload state',
      usage: STATUS_USAGE,
      help: [
        'Lists every `global_step<N>` under CHECKPOINTS_BASE_DIR/<experiment> with its size and upload state:',
        '*uploaded* (with the repo, from the pipeline log), *failed* (rate limited / timeout / other, with the',
        'log line), *running*, *queued* (in the upload queue), or *none*.',
        'Example: `/ckpt status pythia-160m-dedup`',
      ].join('\n'),
      permission: 'read',
      positionals: ['experiment'],
      load: async () => (await import('./status.js')).ckptStatus,
    }),
    defineSubcommand({
      name: 'upload',
      summary: 'Queue one Hub upload per checkpoint, paced to the Hub’s rate limits',
      usage: UPLOAD_USAGE,
      help: [
        'Queues one checkpoint-pipeline run per checkpoint (job id `<experiment>@<step>`: repeating the command adds',
        'nothing already queued, running or done). Default: the checkpoints not uploaded yet (`--missing`);',
        '`--all` takes every global_step*, `--steps 100,200` just those. The queue runs a few at a time, one per',
        'experiment unless `--no-singleton`, within the Hub’s commit budget; after an HTTP 429 it pauses all',
        'starts until the Hub’s reset and retries (up to `--max-retries`, waiting `--retry-min-wait`…',
        '`--retry-max-wait` seconds when the Hub does not say). `--upload-delay <s>|random` delays the start',
        '(random: 0–12 h) without holding a Slurm allocation. Progress is kept in one thread.',
        'Example: `/ckpt upload pythia-160m geodesic-research --skip-neox-upload`',
      ].join('\n'),
      permission: 'operate',
      positionals: ['experiment', 'org'],
      flags: {
        steps: 'string',
        all: 'boolean',
        missing: 'boolean',
        skipNeoxUpload: 'boolean',
        uploadNeoxOnly: 'boolean',
        eval: 'boolean',
        noSingleton: 'boolean',
        uploadDelay: 'string',
        maxRetries: 'string',
        retryMinWait: 'string',
        retryMaxWait: 'string',
      },
      load: async () => (await import('./upload.js')).ckptUpload,
    }),
    defineSubcommand({
      name: 'queue',
      summary: 'The upload queue: waiting, delayed, running, failed, and the current Hub pause',
      usage: '/ckpt queue',
      help: [
        'Shows the checkpoint upload queue: how many uploads wait, are delayed (upload delay, Hub pause, commit',
        'budget, another upload of the same experiment), run, or failed for good; whether starts are paused',
        'after an HTTP 429 from the Hub, until when and why; and how much of the commit budget is used.',
      ].join('\n'),
      permission: 'read',
      load: async () => (await import('./queue.js')).ckptQueue,
    }),
    defineSubcommand({
      name: 'retry',
      summary: 'Re-queue the failed uploads of an experiment',
      usage: '/ckpt retry <experiment>',
      help: 'Puts every upload of <experiment> that failed for good back in the queue, with a fresh retry count.',
      permission: 'operate',
      positionals: ['experiment'],
      load: async () => (await import('./retry.js')).ckptRetry,
    }),
    defineSubcommand({
      name: 'digest',
      summary: 'Upload success digest for the last 24 h (or --since/--until)',
      usage: DIGEST_USAGE,
      help: [
        'The daily digest on demand: per experiment completed / succeeded / failed / running and success rate,',
        'failures by cause with job ids and the telling log line, models uploaded, change vs the period before.',
        'Example: `/ckpt digest --since 2026-11-27T09:00:00Z`',
      ].join('\n'),
      permission: 'read',
      flags: PERIOD_FLAGS,
      load: async () => (await import('./digest.js')).ckptDigest,
    }),
  ],
});
