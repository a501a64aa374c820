import { join } from 'node:path';

// The sandbox's stand-ins for the team's programs, real files beside this module (copied to
// dist/src/programs/ by the build, beside the bundle): NeoX's trainer and its pretrain_neox.sbatch, the
// checkpoint pipeline and its sbatch.

const DIR = join(import.meta.dirname, 'programs');

export const SANDBOX_PROGRAMS = {
  /** Node stand-in for NeoX's train.py: real-format log lines, global_step* saves, `fake_failure`. */
  trainer: join(DIR, 'sandbox-trainer.mjs'),
  /** pretrain_neox.sbatch-shaped template; `@FAKE_TRAINER@` is replaced with the trainer's path. */
  trainSbatchTemplate: join(DIR, 'pretrain_neox.sbatch'),
  /** The pipeline's worker (python3): prints the real pipeline's lines, uploads to HF_ENDPOINT on loopback. */
  pipeline: join(DIR, 'sandbox-pipeline.py'),
  /** upload_and_evaluate_checkpoint.sbatch stand-in; FAKE_PIPELINE_HELPER must name the worker. */
  pipelineSbatch: join(DIR, 'upload_and_evaluate_checkpoint.sbatch'),
} as const;
