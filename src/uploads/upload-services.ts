import type { BatchThreads } from './batch-progress.js';
import type { UploadQueueService } from './upload-queue-service.js';

/** What `services.uploads` holds (built by src/app/uploads.ts). */
export interface UploadServices {
  readonly queue: UploadQueueService;
  /** Opens the one progress thread of a new upload batch (a command run in a channel). */
  readonly batches: BatchThreads;
}
