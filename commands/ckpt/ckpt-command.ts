import { defineCommand } from '../core/command.js';
import { ckptDigest } from './digest.js';
import { ckptList } from './list.js';
import { ckptQueue } from './queue.js';
import { ckptRetry } from './retry.js';
import { ckptStatus } from './status.js';
import { ckptUpload } from './upload.js';

// /ckpt — one line per subcommand; each lives in its own file (commands/ckpt/<name>.ts).
export const ckptCommand = defineCommand({
  name: 'ckpt',
  summary: 'Checkpoints: what exists, what reached the Hugging Face Hub, uploads',
  usageHint:
    'status <experiment> | upload <experiment> [org] | queue | retry <experiment> | digest | list | help',
  subcommands: [ckptList, ckptStatus, ckptUpload, ckptQueue, ckptRetry, ckptDigest],
});
