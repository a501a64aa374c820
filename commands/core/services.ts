import type { SlurmClient } from '../../src/cluster/slurm.js';
import type { Transport } from '../../src/cluster/transport.js';
import type { DigestServices } from '../../src/digest/digest-source.js';
import type { Messenger } from '../../src/messenger.js';

export type { MessageTarget, Messenger } from '../../src/messenger.js';

import type { TrainServices } from '../../src/training/train-services.js';
import type { UploadServices } from '../../src/uploads/upload-services.js';

// Everything a command may call, built once in src/main.ts and passed in. Each feature adds ITS members in
// its own block below (small edit, keep the blocks apart). Members a command cannot work without are
// required; feature services are optional so tests and the CLI only build what they use — a command that
// needs one calls `need(ctx.services.x, 'x')`.

export interface Services {
  // ── cluster (H-A / H-B) ───────────────────────────────────────────────────────────────────────────
  /** Runs argv on the cluster. Already wrapped so every argv lands in the invocation's audit record. */
  readonly transport: Transport;
  readonly slurm: SlurmClient;

  // ── Slack / CLI delivery (H-C) ────────────────────────────────────────────────────────────────────
  /** Present when something can receive out-of-band messages (Slack; the console prints them). */
  readonly messenger?: Messenger;

  // ── /train (H-D) ──────────────────────────────────────────────────────────────────────────────────
  /** The durable training watch (jobs/monitor-training.ts), for /train submit and status. */
  readonly train?: TrainServices;

  // ── /ckpt uploads (H-E) ───────────────────────────────────────────────────────────────────────────
  /** The checkpoint upload queue (src/queue/): enqueue, read, retry, and the batch progress threads. */
  readonly uploads?: UploadServices;

  // ── digest (H-F) ──────────────────────────────────────────────────────────────────────────────────
  /** Pipeline-log digest sources: the cluster's log dir (swept into Redis) and local dirs for the CLI. */
  readonly digest?: DigestServices;
}

/** For optional services: a clear message instead of `undefined is not a function`. */
export function need<T>(service: T | undefined, name: string): T {
  if (service === undefined) {
    throw new Error(`the ${name} service is not configured in this process`);
  }
  return service;
}
