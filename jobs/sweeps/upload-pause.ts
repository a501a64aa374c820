import type { Redis } from 'ioredis';
import type { Reply } from '../../src/reply.js';
import type { Sweep } from './sweep.js';

export interface PauseInfo {
  readonly until: number;
  readonly reason: string;
}

/** The upload queue's current pause (UploadGate.pause()), announced once per pause. */
export function uploadPauseSweep(deps: {
  readonly pause: () => Promise<PauseInfo | null>;
  readonly redis: Redis;
  readonly keyPrefix: string;
  /** Pauses shorter than this resolve themselves; nobody needs to hear about them. */
  readonly minMs?: number;
  readonly expression?: string;
}): Sweep {
  const key = `${deps.keyPrefix}sweep-upload-pause:announced`;
  return {
    name: 'upload-pause',
    expression: deps.expression ?? '*/5 * * * *',
    async run(now: Date): Promise<Reply | null> {
      const p = await deps.pause();
      if (!p || p.until - now.getTime() < (deps.minMs ?? 15 * 60_000)) return null;
      // One announcement per pause: a pause that is only extended keeps its reason and is not re-announced.
      const id = `${p.reason}|${Math.floor(p.until / 3_600_000)}`;
      const prev = await deps.redis.set(key, id, 'EX', 7 * 86_400, 'GET');
      if (prev === id) return null;
      return {
        level: 'warn',
        title: 'Checkpoint uploads are paused',
        text: `No upload starts until ${new Date(p.until).toISOString()} (${Math.round((p.until - now.getTime()) / 60_000)} min). Reason: ${p.reason}`,
        context: ['Queued uploads wait and resume on their own; nothing is lost.'],
        data: { until: p.until, reason: p.reason },
      };
    },
  };
}
