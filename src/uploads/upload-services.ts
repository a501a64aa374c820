import type { BatchThreads } from './batch-progress.js';
import type { UploadQueueService } from './upload-queue-service.js';

/** What `services.uploads` holds (built in src/main.ts). */
export interface UploadServices {
  readonly queue: UploadQueueService;
  /** Opens the one progress thread of a new upload batch; absent where nothing can post (CLI). */
  readonly batches?: BatchThreads;
}
