import type { Job, Queue } from 'bullmq';
import type { Messenger } from '../../src/messenger.js';
import type { QueueFactory, RunningWorker } from '../../src/queue/queue-factory.js';
import type { Reply } from '../../src/reply.js';

// Small periodic checks that post ONLY when something needs a person. Like the digest, a cron tick enqueues
// a job whose id names the sweep and the minute, so replicas ticking together run one sweep; each sweep
// remembers what it already announced (Redis), so a re-run or a retry never repeats a message.

export const SWEEPS_QUEUE = 'sweeps';

export interface Sweep {
  readonly name: string;
  /** Default schedule; main.ts may override. */
  readonly expression: string;
  /** What needs a person right now and was not announced before; null when nothing does. */
  run(now: Date): Promise<Reply | null>;
}

export interface SweepJobData {
  readonly sweep: string;
  readonly firedAt: string;
}

export type SweepResult = { readonly posted: boolean };

export function sweepJobId(name: string, firedAt: Date): string {
  // YYYYMMDDHHmm: one job per sweep per minute, whoever ticks.
  return `sweep-${name}-${firedAt.toISOString().slice(0, 16).replace(/[-T:]/g, '')}`;
}

export async function enqueueSweep(queue: Queue<SweepJobData>, name: string, firedAt: Date): Promise<void> {
  await queue.add(
    name,
    { sweep: name, firedAt: firedAt.toISOString() },
    {
      jobId: sweepJobId(name, firedAt),
      attempts: 2,
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 86_400 },
    },
  );
}

export function startSweepWorker(
  factory: QueueFactory,
  deps: { sweeps: readonly Sweep[]; messenger: Messenger; channel: string },
): RunningWorker<SweepJobData, SweepResult> {
  const byName = new Map(deps.sweeps.map((s) => [s.name, s]));
  return factory.worker<SweepJobData, SweepResult>(
    SWEEPS_QUEUE,
    async (job: Job<SweepJobData, SweepResult>) => {
      const sweep = byName.get(job.data.sweep);
      if (!sweep) return { posted: false };
      const reply = await sweep.run(new Date(job.data.firedAt));
      if (!reply) return { posted: false };
      await deps.messenger.post({ channel: deps.channel }, reply);
      return { posted: true };
    },
    // One sweep at a time per process: sweeps never overlap here, and the job id keeps replicas apart.
    { concurrency: 1 },
  );
}
