import type { DelayedError, Job, Queue } from 'bullmq';
import type { Logger } from '../src/logger.js';
import type { Metrics } from '../src/metrics.js';
import { parsePipelineLines } from '../src/pipeline/pipeline-log.js';
import { bullmq } from '../src/queue/load-queue-libraries.js';
import type { ShutdownAwareProcessor } from '../src/queue/queue-factory.js';
import type { PipelineCluster } from '../src/uploads/pipeline-cluster.js';
import type { SlurmWatcher } from '../src/uploads/slurm-watcher.js';
import type { Admission, UploadGate } from '../src/uploads/upload-gate.js';
import {
  commitsPerRun,
  type UploadJobData,
  UploadJobData as UploadJobDataSchema,
  type UploadResult,
} from '../src/uploads/upload-job.js';
import { silentProgress, type UploadProgress } from '../src/uploads/upload-progress.js';
import { pipelineJobName, pipelineLogPath, runComment } from './pipeline-run-names.js';
import { decideAfterRun, runLabel, runRecord } from './upload-outcome.js';

// One checkpoint upload = one run of the checkpoint pipeline sbatch, paced by the gate. At-least-once
// delivery means this handler runs again after a crash: the Slurm job id is saved before anything else,
// and a run that was submitted but not saved is found again by its job name and comment.

export interface PipelineSettings {
  /** PIPELINE_SBATCH */
  readonly script: string;
  readonly checkpointsBaseDir: string;
  readonly logsDir: string;
  /** Extra variables for the pipeline (e.g. HF_ENDPOINT for a test Hub). Never secrets: job data is visible. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface UploadWorkerDeps {
  readonly queue: Queue<UploadJobData, UploadResult>;
  readonly gate: UploadGate;
  readonly cluster: PipelineCluster;
  readonly watcher: SlurmWatcher;
  readonly pipeline: PipelineSettings;
  readonly progress?: UploadProgress;
  readonly log: Logger;
  /** Runs that ended by outcome, and Hub pauses. */
  readonly metrics?: Pick<Metrics, 'uploads' | 'hubPauses'>;
  /** Renew the per-experiment lock this often while a pipeline runs. */
  readonly lockRenewMs: number;
  /** Random spread added to delays so many refused jobs do not wake at the same instant. */
  readonly jitterMs?: number;
  /** When the cluster cannot be asked for a finished run's log, ask again after this long. */
  readonly logRetryMs: number;
  readonly now?: () => number;
}

/** How far the bot's clock may be ahead of the file server's when looking for a run's log by its mtime. */
const SUBMIT_CLOCK_SLACK_S = 120;

type UploadJob = Job<UploadJobData, UploadResult>;

/** One processing of one upload job: its data as saved so far, and how to save more. */
interface Attempt {
  readonly job: UploadJob;
  readonly jobId: string;
  readonly token: string | undefined;
  d: UploadJobData;
}

export function createUploadProcessor(
  deps: UploadWorkerDeps,
): ShutdownAwareProcessor<UploadJobData, UploadResult> {
  const processor = new UploadProcessor(deps);
  return (job, token, shutdown) => processor.process(job, token, shutdown);
}

/**
 * The steps of an upload: submit (or adopt the run a crashed attempt submitted), wait for the run to end
 * while holding the experiment's lock, read its log, then finish, retry later or give up.
 */
class UploadProcessor {
  readonly #now: () => number;
  readonly #progress: UploadProgress;

  constructor(private readonly deps: UploadWorkerDeps) {
    this.#now = deps.now ?? Date.now;
    this.#progress = deps.progress ?? silentProgress;
  }

  async process(job: UploadJob, token: string | undefined, shutdown: AbortSignal): Promise<UploadResult> {
    const a: Attempt = { job, jobId: String(job.id), token, d: UploadJobDataSchema.parse(job.data) };
    try {
      await this.#submitOrResume(a);
      const ended = await this.#waitForEnd(a, shutdown);
      // The worker is gone; leave the job active so the next worker resumes it. Never settle.
      if (ended === null) return new Promise<UploadResult>(() => {});
      return await this.#finish(a, ended.lastState);
    } catch (e) {
      // Whatever went wrong, do not leave the experiment locked until the lock expires.
      if (!(e instanceof bullmq().DelayedError)) await this.#release(a).catch(() => {});
      throw e;
    }
  }

  /**
   * One line per state change an operator follows: `event` names it; experiment, step and both job ids are
   * fields on every line, so one upload's story is a filter away.
   */
  #logEvent(a: Attempt, level: 'info' | 'warn', event: string, msg: string, extra: object = {}): void {
    this.deps.log[level](
      {
        event,
        experiment: a.d.experiment,
        step: a.d.step,
        jobId: a.jobId,
        slurmJobId: a.d.slurmJobId,
        ...extra,
      },
      msg,
    );
  }

  async #save(a: Attempt, patch: Partial<UploadJobData>): Promise<void> {
    a.d = { ...a.d, ...patch };
    await a.job.updateData(a.d);
  }

  async #delay(a: Attempt, at: number): Promise<DelayedError> {
    const jitter = Math.floor(Math.random() * (this.deps.jitterMs ?? 0));
    await a.job.moveToDelayed(Math.max(at, this.#now() + 1) + jitter, a.token);
    return new (bullmq().DelayedError)();
  }

  async #release(a: Attempt): Promise<void> {
    if (!a.d.singleton) return;
    await this.deps.gate.releaseLock(a.d.experiment, a.jobId);
    await this.#promoteNextWaiter(a.d.experiment);
  }

  async #promoteNextWaiter(experiment: string): Promise<void> {
    for (const id of await this.deps.gate.waiters(experiment, 5)) {
      const j = await this.deps.queue.getJob(id);
      if (!j) {
        await this.deps.gate.removeWaiter(experiment, id);
        continue;
      }
      if (await j.isDelayed()) {
        await j.promote().catch(() => {});
        return;
      }
    }
  }

  /** Ends with a Slurm job id saved in the job's data, or throws a DelayedError when the gate refuses. */
  async #submitOrResume(a: Attempt): Promise<void> {
    if (a.d.slurmJobId !== null) {
      this.#logEvent(a, 'info', 'resumed', 'upload resumed: waiting for its pipeline run');
      if (!a.d.singleton) return;
      const holder = await this.deps.gate.acquireLock(a.d.experiment, a.jobId);
      if (holder !== a.jobId)
        this.#logEvent(a, 'warn', 'lock-lost', 'resumed upload lost its experiment lock', { holder });
      return;
    }
    const jobName = pipelineJobName(a.d);
    // A previous attempt may have died between sbatch and saving the id: its run is still in squeue, or
    // (if no worker came back before it ended) its log is there.
    const adopted = a.d.submitting ? await this.#findOwnRun(a.d, jobName) : undefined;
    if (adopted) {
      await this.#save(a, { ...submitted(adopted, this.#now()) });
      this.#logEvent(a, 'warn', 'adopted', 'upload adopted the pipeline run submitted before a crash');
      return;
    }
    const adm = await this.deps.gate.admit({
      jobId: a.jobId,
      experiment: a.d.experiment,
      singleton: a.d.singleton,
      cost: commitsPerRun(a.d),
    });
    if (!adm.ok) {
      const why = describeRefusal(adm);
      if (a.d.waitingFor !== why) {
        this.#logEvent(a, 'info', 'waiting', `upload waiting: ${why}`, {
          why: adm.why,
          until: new Date(adm.retryAt).toISOString(),
        });
        await this.#save(a, { waitingFor: why });
        await this.#progress.report(a.d.batchId, a.jobId, { kind: 'waiting', why, until: adm.retryAt });
      }
      throw await this.#delay(a, adm.retryAt);
    }
    this.#logEvent(a, 'info', 'admitted', 'upload admitted');
    await this.#submit(a, jobName);
  }

  async #submit(a: Attempt, jobName: string): Promise<void> {
    const { d } = a;
    const { pipeline } = this.deps;
    const comment = runComment(a.jobId, d.retries);
    await this.#save(a, { submitting: comment, submittingAt: this.#now() });
    const slurmJobId = await this.deps.cluster.submit({
      script: pipeline.script,
      args: [d.experiment, String(d.step), ...(d.eval ? [] : ['--skip-eval']), d.org],
      env: {
        ...pipeline.env,
        CHECKPOINTS_BASE_DIR: pipeline.checkpointsBaseDir,
        SKIP_NEOX_UPLOAD: d.skipNeoxUpload ? '1' : '0',
        ...(d.uploadNeoxOnly ? { UPLOAD_NEOX_ONLY: '1' } : {}),
      },
      jobName,
      output: pipelineLogPath(pipeline.logsDir, '%j'),
      comment,
    });
    // Before anything else: a resumed job must find this id and not submit again.
    await this.#save(a, submitted(slurmJobId, this.#now()));
    this.#logEvent(a, 'info', 'submitted', `upload submitted as Slurm job ${slurmJobId}`);
    await this.#progress.report(d.batchId, a.jobId, { kind: 'submitted', slurmJobId });
  }

  /**
   * The run a crashed attempt submitted: in squeue by its comment while Slurm still knows it; after it ended,
   * the first log for this checkpoint written since the submission began that is not one of our earlier
   * runs. (Slurm job ids only grow, so the lowest such id is the one submitted first.)
   */
  async #findOwnRun(d: UploadJobData, jobName: string): Promise<string | undefined> {
    const queued = (await this.deps.cluster.findSubmitted(jobName, d.submitting ?? ''))[0];
    if (queued || d.submittingAt === null) return queued;
    const earlier = new Set(d.runs.map((r) => r.slurmJobId));
    const sinceS = Math.floor(d.submittingAt / 1000) - SUBMIT_CLOCK_SLACK_S;
    const ended = (await this.deps.cluster.recentRuns(this.deps.pipeline.logsDir, sinceS))
      .filter((r) => r.experiment === d.experiment && r.step === d.step && !earlier.has(r.slurmJobId))
      .map((r) => r.slurmJobId)
      .sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
    return ended[0];
  }

  /** Waits for the saved run to leave the queue, renewing the lock; null when the worker shuts down. */
  async #waitForEnd(a: Attempt, shutdown: AbortSignal): Promise<{ lastState: string | null } | null> {
    const { d, jobId } = a;
    const slurmJobId = d.slurmJobId as string;
    const renew = d.singleton
      ? setInterval(() => {
          this.deps.gate
            .renewLock(d.experiment, jobId)
            .catch((e: unknown) => this.deps.log.warn({ err: e }, 'lock renew'));
        }, this.deps.lockRenewMs)
      : null;
    // The log path lets the watcher see the pipeline's completion line before squeue shows the run gone.
    const ended = await this.deps.watcher
      .waitForEnd(
        slurmJobId,
        shutdown,
        (st) => {
          if (st === 'RUNNING') void this.#progress.report(d.batchId, jobId, { kind: 'running', slurmJobId });
        },
        pipelineLogPath(this.deps.pipeline.logsDir, slurmJobId),
      )
      .finally(() => {
        if (renew) clearInterval(renew);
      });
    if (shutdown.aborted || ended.shutdown) return null;
    return { lastState: ended.lastState ?? null };
  }

  /** Reads the ended run's log and acts on it: done, a retry later (DelayedError), or failed for good. */
  async #finish(a: Attempt, lastState: string | null): Promise<UploadResult> {
    const { d, jobId } = a;
    const slurmJobId = d.slurmJobId as string;
    const logPath = pipelineLogPath(this.deps.pipeline.logsDir, slurmJobId);
    let lines: string[] | null;
    try {
      lines = await this.deps.cluster.readLog(logPath);
    } catch (e) {
      // The run is over but we could not read how it went: keep its id and look again shortly.
      this.deps.log.warn(
        { jobId, slurmJobId, err: String(e) },
        'could not read the pipeline log; will retry',
      );
      await this.#release(a);
      throw await this.#delay(a, this.#now() + this.deps.logRetryMs);
    }
    const run = lines ? parsePipelineLines(lines, { jobId: slurmJobId }) : null;
    const record = runRecord(slurmJobId, d.submittedAt ?? this.#now(), logPath, lines, run, lastState);
    const decision = decideAfterRun(d, record, run, this.#now());
    if (decision.kind === 'succeeded') {
      await this.#save(a, { runs: [...d.runs, record], waitingFor: null });
      await this.#release(a);
      this.deps.metrics?.uploads.inc({ outcome: 'succeeded' });
      this.#logEvent(a, 'info', 'finished', 'upload finished', { repos: record.repos, retries: d.retries });
      await this.#progress.report(d.batchId, jobId, { kind: 'succeeded', slurmJobId, repos: record.repos });
      return { slurmJobId, repos: record.repos, retries: d.retries };
    }
    if (decision.pauseUntil !== null) {
      await this.deps.gate.pauseUntil(
        decision.pauseUntil,
        `HTTP 429 from the Hub (${d.experiment} step ${d.step}): ${record.line}`,
      );
      this.deps.metrics?.hubPauses.inc({});
      this.#logEvent(
        a,
        'warn',
        'paused',
        `Hub rate limit: every upload start paused until ${new Date(decision.pauseUntil).toISOString()}`,
        {
          until: new Date(decision.pauseUntil).toISOString(),
          line: record.line,
        },
      );
    }
    if (decision.kind === 'failed') {
      this.deps.metrics?.uploads.inc({ outcome: 'failed' });
      this.#logEvent(a, 'warn', 'failed', `upload failed: ${decision.reason}`, {
        cause: decision.reason,
        line: record.line,
      });
      await this.#save(a, {
        runs: [...d.runs, record],
        slurmJobId: null,
        submittedAt: null,
        waitingFor: null,
      });
      await this.#release(a);
      await this.#progress.report(d.batchId, jobId, { kind: 'failed', reason: decision.reason });
      throw new (bullmq().UnrecoverableError)(decision.reason);
    }
    this.deps.metrics?.uploads.inc({ outcome: 'retrying' });
    this.#logEvent(a, 'warn', 'retrying', `upload will retry after ${runLabel(record)}`, {
      cause: runLabel(record),
      line: record.line,
      retry: d.retries + 1,
      retryAt: new Date(decision.retryAt).toISOString(),
    });
    // Forget the finished run first: if we die after this, the next attempt submits a fresh one.
    await this.#save(a, {
      runs: [...d.runs, record],
      slurmJobId: null,
      submittedAt: null,
      retries: d.retries + 1,
      waitingFor: `retry ${d.retries + 1}/${d.maxRetries} after ${runLabel(record)}`,
    });
    await this.#release(a);
    await this.#progress.report(d.batchId, jobId, {
      kind: 'retrying',
      cause: runLabel(record),
      line: record.line,
      retryAt: decision.retryAt,
      retry: d.retries,
    });
    throw await this.#delay(a, decision.retryAt);
  }
}

/** The job data of a run that has a Slurm id: nothing is being submitted any more. */
function submitted(slurmJobId: string, at: number): Partial<UploadJobData> {
  return { slurmJobId, submittedAt: at, submitting: null, submittingAt: null, waitingFor: null };
}

function describeRefusal(a: Exclude<Admission, { ok: true }>): string {
  const at = new Date(a.retryAt).toISOString();
  switch (a.why) {
    case 'paused':
      return `Hub pause until ${at}: ${a.pause.reason}`;
    case 'experiment-busy':
      return `another upload of this experiment is running (${a.holder})`;
    case 'budget':
      return 'the commit budget for the Hub window is used up';
  }
}
