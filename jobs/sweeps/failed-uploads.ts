import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Reply } from '../../src/reply.js';
import type { Sweep } from './sweep.js';

/** Upload jobs that failed for good (no attempts left) since the last announcement. */
export function failedUploadsSweep(deps: {
  /** The upload queue (src/queue/upload-job.ts UPLOAD_QUEUE). */
  readonly queue: Pick<Queue, 'getFailed'>;
  readonly redis: Redis;
  /** Namespace for the "already announced" set. */
  readonly keyPrefix: string;
  readonly expression?: string;
}): Sweep {
  const announcedKey = `${deps.keyPrefix}sweep-failed-uploads:announced`;
  return {
    name: 'failed-uploads',
    expression: deps.expression ?? '*/15 * * * *',
    async run(): Promise<Reply | null> {
      const failed = await deps.queue.getFailed(0, 499);
      const fresh: { id: string; reason: string }[] = [];
      for (const job of failed) {
        if (!job?.id) continue;
        // SADD returns 1 only the first time: the announcement is claimed before it is posted.
        if ((await deps.redis.sadd(announcedKey, job.id)) === 1) {
          fresh.push({ id: job.id, reason: (job.failedReason ?? 'no reason recorded').split('\n')[0] ?? '' });
        }
      }
      await deps.redis.expire(announcedKey, 30 * 86_400);
      if (fresh.length === 0) return null;
      return {
        level: 'error',
        title: `${fresh.length} checkpoint upload${fresh.length === 1 ? '' : 's'} failed for good`,
        text: 'These will not be retried. Check the reason, then `/ckpt upload <experiment>` again if it should run.',
        table: {
          columns: ['job', 'reason'],
          rows: fresh.slice(0, 30).map((f) => [f.id, f.reason.slice(0, 200)]),
        },
        ...(fresh.length > 30 ? { context: [`…and ${fresh.length - 30} more`] } : {}),
        data: { failed: fresh },
      };
    },
  };
}
