import type { CheckpointFiles } from '../../src/cluster/checkpoint-files.js';
import type { ClusterFiles } from '../../src/cluster/cluster-files.js';
import type { SlurmClient } from '../../src/cluster/slurm.js';
import type { DigestServices } from '../../src/digest/digest-source.js';
import type { Messenger } from '../../src/messenger.js';
import type { TrainServices } from '../../src/training/train-services.js';
import type { UploadServices } from '../../src/uploads/upload-services.js';

// Everything a command may call, built once by the wiring (src/app/runtime.ts) and passed in. Every member is
// required: a command's needs are part of its type, so a wiring mistake is a type error, not a reply. Tests
// build what they use through test/helpers/command-deps.ts.

export interface Services {
  /** Slurm on the cluster: submit, queue, job state, cancel. Every argv lands in the audit record. */
  readonly slurm: SlurmClient;
  /** Configs, logs and their directories on the cluster: one remote program per call. */
  readonly files: ClusterFiles;
  /** The checkpoint tree on the cluster: every experiment's checkpoints, one experiment's with sizes. */
  readonly checkpoints: CheckpointFiles;
  /** Out-of-band messages: Slack (paced per channel), or the console, which prints them. */
  readonly messenger: Messenger;
  /** The durable training watch behind /train submit and /train status. */
  readonly train: TrainServices;
  /** The checkpoint upload queue: enqueue, read, retry, and the batch progress threads. */
  readonly uploads: UploadServices;
  /** Pipeline-log digests: the cluster's log directory (swept into Redis) and local directories for the CLI. */
  readonly digest: DigestServices;
}
