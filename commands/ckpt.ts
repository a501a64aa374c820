import { ckptDigest } from './ckpt-digest.js';
import { ckptList } from './ckpt-list.js';
import { ckptQueue } from './ckpt-queue.js';
import { ckptRetry } from './ckpt-retry.js';
import { ckptStatus } from './ckpt-status.js';
import { ckptUpload } from './ckpt-upload.js';
import { defineCommand } from './command.js';

// /ckpt — one line per subcommand; each lives in its own file (commands/ckpt-<name>.ts).
export const ckpt = defineCommand({
  name: 'ckpt',
  summary: 'Checkpoints: what exists, what reached the Hugging Face Hub, uploads',
  usageHint:
    'status <experiment> | upload <experiment> [org] | queue | retry <experiment> | digest | list | help',
  subcommands: [ckptList, ckptStatus, ckptUpload, ckptQueue, ckptRetry, ckptDigest],
});
