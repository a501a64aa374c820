import type { Job, JobState, Queue } from 'bullmq';
import { type Logger, silentLogger } from '../logger.js';
import type { PauseState, UploadGate } from './upload-gate.js';
import {
  UPLOAD_QUEUE,
  type UploadJobData,
  UploadJobData as UploadJobDataSchema,
  type UploadJobInput,
  type UploadResult,
  uploadJobId,
} from './upload-job.js';

// The producer and reader side of the upload queue, used by the /ckpt commands.

export type UploadJobState = JobState | 'unknown';

export interface UploadJobView {
  readonly id: string;
  readonly experiment: string;
  readonly step: number;
  readonly state: UploadJobState;
  readonly data: UploadJobData;
  readonly failedReason: string | null;
  /** Epoch ms a delayed job becomes due. */
  readonly due: number | null;
  readonly result: UploadResult | null;
}

export interface EnqueueRequest {
  readonly steps: readonly number[];
  /** Everything a job carries except the step and the bookkeeping fields. */
  readonly template: Omit<UploadJobInput, 'step'>;
  /** Per-step delay in ms (`--upload-delay`): a delayed job, never a sleep. */
  readonly delayMs?: (step: number) => number;
}

export interface EnqueueResult {
  readonly added: readonly number[];
  readonly existing: readonly { readonly step: number; readonly state: UploadJobState }[];
}

export interface QueueOverview {
  readonly counts: Readonly<Record<'waiting' | 'delayed' | 'active' | 'failed' | 'completed', number>>;
  readonly jobs: readonly UploadJobView[];
  readonly pause: PauseState | null;
  readonly budget: { readonly used: number; readonly limit: number; readonly windowMs: number };
}

export class UploadQueueService {
  constructor(
    readonly queue: Queue<UploadJobData, UploadResult>,
    private readonly gate: UploadGate,
    /** One `queued` line per added upload (the worker logs the rest of its story). */
    private readonly log: Logger = silentLogger(),
  ) {
    if (queue.name !== UPLOAD_QUEUE) throw new Error(`expected the ${UPLOAD_QUEUE} queue`);
  }

  /** One job per checkpoint, id `<experiment>@<step>`: an upload already queued, running or done is not added again. */
  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    const experiment = req.template.experiment;
    const states = await Promise.all(
      req.steps.map(async (step) => ({
        step,
        state: await this.queue.getJobState(uploadJobId(experiment, step)),
      })),
    );
    const fresh = states.filter((s) => s.state === 'unknown').map((s) => s.step);
    if (fresh.length > 0) {
      await this.queue.addBulk(
        fresh.map((step) => ({
          name: 'upload',
          data: UploadJobDataSchema.parse({ ...req.template, step }),
          opts: {
            jobId: uploadJobId(experiment, step),
            ...(req.delayMs ? { delay: Math.max(0, Math.round(req.delayMs(step))) } : {}),
            // Kept so a repeated command sees the upload was done; old ones age out.
            removeOnComplete: { age: 30 * 24 * 3600 },
            // Pipeline failures are handled inside the job; attempts cover infrastructure errors (Redis, ssh).
            attempts: 5,
            backoff: { type: 'exponential', delay: 10_000 },
            removeOnFail: { age: 30 * 24 * 3600 },
          },
        })),
      );
      for (const step of fresh) {
        const jobId = uploadJobId(experiment, step);
        this.log.info({ event: 'queued', experiment, step, jobId, slurmJobId: null }, 'upload queued');
      }
    }
    return { added: fresh, existing: states.filter((s) => s.state !== 'unknown') };
  }

  /** The queue's view of the given checkpoints (absent = never queued or aged out). */
  async jobsFor(experiment: string, steps: readonly number[]): Promise<Map<number, UploadJobView>> {
    const views = await Promise.all(
      steps.map(async (step) => {
        const job = await this.queue.getJob(uploadJobId(experiment, step));
        return job ? this.view(job) : null;
      }),
    );
    return new Map(views.filter((v): v is UploadJobView => v !== null).map((v) => [v.step, v]));
  }

  async overview(maxPerState = 50): Promise<QueueOverview> {
    const c = await this.queue.getJobCounts(
      'waiting',
      'prioritized',
      'delayed',
      'active',
      'failed',
      'completed',
    );
    const jobs = (await this.queue.getJobs(
      ['active', 'waiting', 'prioritized', 'delayed', 'failed'],
      0,
      maxPerState - 1,
      true,
    )) as Job<UploadJobData, UploadResult>[];
    const views = await Promise.all(jobs.filter((j) => j?.id).map((j) => this.view(j)));
    return {
      counts: {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        delayed: c.delayed ?? 0,
        active: c.active ?? 0,
        failed: c.failed ?? 0,
        completed: c.completed ?? 0,
      },
      jobs: views,
      pause: await this.gate.pause(),
      budget: {
        used: await this.gate.budgetUsed(),
        limit: this.gate.budget.limit,
        windowMs: this.gate.budget.windowMs,
      },
    };
  }

  /** Re-queue every failed upload of the experiment, with a fresh retry count. */
  async retryFailed(experiment: string): Promise<number[]> {
    const failed = (await this.queue.getJobs(['failed'])) as Job<UploadJobData, UploadResult>[];
    const mine = failed.filter((j) => j?.id && j.data.experiment === experiment);
    const steps: number[] = [];
    for (const j of mine) {
      const d = UploadJobDataSchema.parse(j.data);
      await j.updateData({ ...d, slurmJobId: null, submittedAt: null, retries: 0, waitingFor: null });
      await j.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      steps.push(d.step);
    }
    return steps.sort((a, b) => a - b);
  }

  /** BullMQ scores the delayed set with `timestamp * 0x1000 + counter`. */
  private async dueAt(id: string): Promise<number | null> {
    const client = await this.queue.client;
    const score = await client.zscore(this.queue.toKey('delayed'), id);
    return score === null ? null : Math.floor(Number(score) / 0x1000);
  }

  private async view(job: Job<UploadJobData, UploadResult>): Promise<UploadJobView> {
    const data = UploadJobDataSchema.parse(job.data);
    const state = await job.getState();
    return {
      id: String(job.id),
      experiment: data.experiment,
      step: data.step,
      state,
      data,
      failedReason: job.failedReason ?? null,
      due: state === 'delayed' ? await this.dueAt(String(job.id)) : null,
      result: job.returnvalue ?? null,
    };
  }
}
