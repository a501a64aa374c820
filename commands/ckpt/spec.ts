// What /ckpt's listing (ckpt-command.ts) and its implementations both name: the usage lines they show.
// Kept apart from the implementations so that the listing loads none of them.

export const STATUS_USAGE = '/ckpt status <experiment>';
export const UPLOAD_USAGE =
  '/ckpt upload <experiment> [org] [--steps a,b|--all|--missing] [--skip-neox-upload] [--upload-neox-only] ' +
  '[--eval] [--no-singleton] [--upload-delay <s>|random] [--max-retries N] [--retry-min-wait S] [--retry-max-wait S]';
export const DIGEST_USAGE = '/ckpt digest [--since <ISO>] [--until <ISO>]';
