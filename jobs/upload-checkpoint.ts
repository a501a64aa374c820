import { DelayedError, type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Logger } from '../src/logger.js';
import { parsePipelineLines } from '../src/pipeline/pipeline-log.js';
import type { ShutdownAwareProcessor } from '../src/queue/queue-factory.js';
import type { PipelineCluster } from '../src/uploads/pipeline-cluster.js';
import type { SlurmWatcher } from '../src/uploads/slurm-watcher.js';
import type { Admission, UploadGate } from '../src/uploads/upload-gate.js';
import {
  commitsPerRun,
  retryDelayMs,
  type UploadJobData,
  UploadJobData as UploadJobDataSchema,
  type UploadResult,
  type UploadRun,
} from '../src/uploads/upload-job.js';
import { silentProgress, type UploadProgress } from '../src/uploads/upload-progress.js';

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

export function pipelineLogPath(logsDir: string, slurmJobId: string): string {
  return `${logsDir.replace(/\/+$/, '')}/checkpoint_pipeline/checkpoint_pipeline_${slurmJobId}.out`;
}

export function pipelineJobName(d: Pick<UploadJobData, 'experiment' | 'step'>): string {
  return `ckpt-${d.step}-${d.experiment}`.slice(0, 128);
}

/** Unique per pipeline run of a job, so a resumed job adopts its own run and never an earlier one. */
export function runComment(jobId: string, retries: number): string {
  return `chatops-upload:${jobId}:run${retries}`;
}

export function createUploadProcessor(
  deps: UploadWorkerDeps,
): ShutdownAwareProcessor<UploadJobData, UploadResult> {
  const now = deps.now ?? Date.now;
  const progress = deps.progress ?? silentProgress;
  const jitter = () => Math.floor(Math.random() * (deps.jitterMs ?? 0));

  const delay = async (job: Job<UploadJobData, UploadResult>, token: string | undefined, at: number) => {
    await job.moveToDelayed(Math.max(at, now() + 1) + jitter(), token);
    return new DelayedError();
  };

  const promoteNextWaiter = async (experiment: string) => {
    for (const id of await deps.gate.waiters(experiment, 5)) {
      const j = await deps.queue.getJob(id);
      if (!j) {
        await deps.gate.removeWaiter(experiment, id);
        continue;
      }
      if (await j.isDelayed()) {
        await j.promote().catch(() => {});
        return;
      }
    }
  };

  const release = async (d: UploadJobData, jobId: string) => {
    if (!d.singleton) return;
    await deps.gate.releaseLock(d.experiment, jobId);
    await promoteNextWaiter(d.experiment);
  };

  return async (job, token, shutdown) => {
    const data = UploadJobDataSchema.parse(job.data);
    try {
      return await processUpload(job, token, shutdown, data);
    } catch (e) {
      // Whatever went wrong, do not leave the experiment locked until the lock expires.
      if (!(e instanceof DelayedError)) await release(data, String(job.id)).catch(() => {});
      throw e;
    }
  };

  /**
   * The run a crashed attempt submitted: in squeue by its comment while Slurm still knows it; after it ended,
   * the first log for this checkpoint written since the submission began that is not one of our earlier
   * runs. (Slurm job ids only grow, so the lowest such id is the one submitted first.)
   */
  async function findOwnRun(d: UploadJobData, jobName: string): Promise<string | undefined> {
    const queued = (await deps.cluster.findSubmitted(jobName, d.submitting ?? ''))[0];
    if (queued || d.submittingAt === null) return queued;
    const earlier = new Set(d.runs.map((r) => r.slurmJobId));
    const sinceS = Math.floor(d.submittingAt / 1000) - SUBMIT_CLOCK_SLACK_S;
    const ended = (await deps.cluster.recentRuns(deps.pipeline.logsDir, sinceS))
      .filter((r) => r.experiment === d.experiment && r.step === d.step && !earlier.has(r.slurmJobId))
      .map((r) => r.slurmJobId)
      .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    return ended[0];
  }

  async function processUpload(
    job: Job<UploadJobData, UploadResult>,
    token: string | undefined,
    shutdown: AbortSignal,
    initial: UploadJobData,
  ): Promise<UploadResult> {
    const jobId = String(job.id);
    let d = initial;
    const save = async (patch: Partial<UploadJobData>) => {
      d = { ...d, ...patch };
      await job.updateData(d);
    };

    if (d.slurmJobId === null) {
      const jobName = pipelineJobName(d);
      // A previous attempt may have died between sbatch and saving the id: its run is still in squeue, or
      // (if no worker came back before it ended) its log is there.
      const adopted = d.submitting ? await findOwnRun(d, jobName) : undefined;
      if (adopted) {
        await save({
          slurmJobId: adopted,
          submittedAt: now(),
          submitting: null,
          submittingAt: null,
          waitingFor: null,
        });
        deps.log.warn({ jobId, slurmJobId: adopted }, 'adopted a pipeline run submitted before a crash');
      } else {
        const adm = await deps.gate.admit({
          jobId,
          experiment: d.experiment,
          singleton: d.singleton,
          cost: commitsPerRun(d),
        });
        if (!adm.ok) {
          const why = describeRefusal(adm);
          if (d.waitingFor !== why) {
            await save({ waitingFor: why });
            await progress.report(d.batchId, jobId, { kind: 'waiting', why, until: adm.retryAt });
          }
          throw await delay(job, token, adm.retryAt);
        }
        const comment = runComment(jobId, d.retries);
        await save({ submitting: comment, submittingAt: now() });
        const slurmJobId = await deps.cluster.submit({
          script: deps.pipeline.script,
          args: [d.experiment, String(d.step), ...(d.eval ? [] : ['--skip-eval']), d.org],
          env: {
            ...deps.pipeline.env,
            CHECKPOINTS_BASE_DIR: deps.pipeline.checkpointsBaseDir,
            SKIP_NEOX_UPLOAD: d.skipNeoxUpload ? '1' : '0',
            ...(d.uploadNeoxOnly ? { UPLOAD_NEOX_ONLY: '1' } : {}),
          },
          jobName,
          output: pipelineLogPath(deps.pipeline.logsDir, '%j'),
          comment,
        });
        // Before anything else: a resumed job must find this id and not submit again.
        await save({
          slurmJobId,
          submittedAt: now(),
          submitting: null,
          submittingAt: null,
          waitingFor: null,
        });
        await progress.report(d.batchId, jobId, { kind: 'submitted', slurmJobId });
      }
    } else if (d.singleton) {
      const holder = await deps.gate.acquireLock(d.experiment, jobId);
      if (holder !== jobId) deps.log.warn({ jobId, holder }, 'resumed upload lost its experiment lock');
    }

    const slurmJobId = d.slurmJobId as string;
    const renew = d.singleton
      ? setInterval(() => {
          deps.gate
            .renewLock(d.experiment, jobId)
            .catch((e: unknown) => deps.log.warn({ err: e }, 'lock renew'));
        }, deps.lockRenewMs)
      : null;
    const ended = await deps.watcher
      .waitForEnd(slurmJobId, shutdown, (st) => {
        if (st === 'RUNNING') void progress.report(d.batchId, jobId, { kind: 'running', slurmJobId });
      })
      .finally(() => {
        if (renew) clearInterval(renew);
      });
    if (shutdown.aborted || ended.shutdown) {
      // The worker is gone; leave the job active so the next worker resumes it. Never settle.
      return new Promise<UploadResult>(() => {});
    }
    const lastState = ended.lastState;

    const logPath = pipelineLogPath(deps.pipeline.logsDir, slurmJobId);
    let lines: string[] | null;
    try {
      lines = await deps.cluster.readLog(logPath);
    } catch (e) {
      // The run is over but we could not read how it went: keep its id and look again shortly.
      deps.log.warn({ jobId, slurmJobId, err: String(e) }, 'could not read the pipeline log; will retry');
      await release(d, jobId);
      throw await delay(job, token, now() + deps.logRetryMs);
    }
    const run = lines ? parsePipelineLines(lines, { jobId: slurmJobId }) : null;
    const record: UploadRun = {
      slurmJobId,
      submittedAt: d.submittedAt ?? now(),
      outcome: run?.outcome === 'succeeded' ? 'succeeded' : run?.outcome === 'failed' ? 'failed' : 'lost',
      cause: run?.failureCause ?? (run?.outcome === 'succeeded' ? null : 'other'),
      line:
        run?.tellingLine ??
        (lines === null
          ? `no log at ${logPath}`
          : `the run ended (${lastState ?? 'left the queue'}) without a "Pipeline completed" line`),
      repos: [...(run?.uploadedRepos ?? [])],
    };

    if (record.outcome === 'succeeded') {
      await save({ runs: [...d.runs, record], waitingFor: null });
      await release(d, jobId);
      await progress.report(d.batchId, jobId, { kind: 'succeeded', slurmJobId, repos: record.repos });
      return { slurmJobId, repos: record.repos, retries: d.retries };
    }

    // A 429 means the Hub wants everyone to stop, not just this run: pause all starts.
    const hint = run?.rateLimit;
    const hubResetS =
      record.cause === 'rate_limited' ? (hint?.resetSeconds ?? hint?.retryAfterSeconds) : null;
    const waitMs = retryDelayMs(d.retries, d.retryMinWaitS, d.retryMaxWaitS, hubResetS);
    const retryAt = now() + waitMs;
    if (record.cause === 'rate_limited') {
      await deps.gate.pauseUntil(
        retryAt,
        `HTTP 429 from the Hub (${d.experiment} step ${d.step}): ${record.line}`,
      );
    }
    const retriable = record.cause !== 'other' || record.outcome === 'lost';
    if (!retriable || d.retries >= d.maxRetries) {
      const reason = retriable
        ? `gave up after ${d.retries} retries: ${label(record)}: ${record.line}`
        : `pipeline failed (${label(record)}): ${record.line}`;
      await save({ runs: [...d.runs, record], slurmJobId: null, submittedAt: null, waitingFor: null });
      await release(d, jobId);
      await progress.report(d.batchId, jobId, { kind: 'failed', reason });
      throw new UnrecoverableError(reason);
    }
    // Forget the finished run first: if we die after this, the next attempt submits a fresh one.
    await save({
      runs: [...d.runs, record],
      slurmJobId: null,
      submittedAt: null,
      retries: d.retries + 1,
      waitingFor: `retry ${d.retries + 1}/${d.maxRetries} after ${label(record)}`,
    });
    await release(d, jobId);
    await progress.report(d.batchId, jobId, {
      kind: 'retrying',
      cause: label(record),
      line: record.line,
      retryAt,
      retry: d.retries,
    });
    throw await delay(job, token, retryAt);
  }
}

function label(r: UploadRun): string {
  if (r.outcome === 'lost') return 'run lost';
  return r.cause === 'rate_limited' ? 'rate limited' : r.cause === 'timeout' ? 'timeout' : 'other';
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
