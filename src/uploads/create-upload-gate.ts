import type { QueueFactory } from '../queue/queue-factory.js';
import { UploadGate } from './upload-gate.js';
import { UPLOAD_QUEUE } from './upload-job.js';
import type { UploadQueueSettings } from './upload-settings.js';

/** The upload gate over the process's queues: every replica with the same Redis shares its state. */
export function createUploadGate(factory: QueueFactory, settings: UploadQueueSettings): UploadGate {
  return new UploadGate(factory.redis(), factory.keyPrefix(UPLOAD_QUEUE), {
    budget: settings.budget,
    lockTtlMs: settings.lockTtlMs,
    lockRecheckMs: settings.lockRecheckMs,
  });
}
