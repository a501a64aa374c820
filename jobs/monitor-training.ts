import { setMaxListeners } from 'node:events';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterFiles } from '../src/cluster/cluster-files.js';
import type { LogReadRequest } from '../src/cluster/log-files.js';
import type { LogReadBatcher } from '../src/cluster/log-read-batcher.js';
import type { Logger } from '../src/logger.js';
import { type Messenger, UndeliverableError } from '../src/messenger.js';
import type { Finding } from '../src/neox/failure-kinds.js';
import { createWatchData, type WatchData, WatchRequest } from '../src/neox/watch-state.js';
import type { QueueFactory, RunningWorker } from '../src/queue/queue-factory.js';
import { SqueueTicker } from '../src/training/squeue-ticker.js';
import { suggestFix } from '../src/training/suggest-fix.js';
import {
  DEFAULT_WATCH_OPTIONS,
  type FinalJobState,
  type JobSnapshot,
  stepWatch,
  type WatchOptions,
} from '../src/training/training-watch.js';
import * as z from '../src/zod.js';

// The durable training watch: one BullMQ job per Slurm job (id `train-<jobid>`), its whole state in the
// job's data. A bot restart leaves the job active; its lock expires, BullMQ hands it to the next worker,
// which resumes from the stored byte offset and outbox — nothing re-read, nothing posted twice.

export const MONITOR_QUEUE = 'train-monitor';
export const watchJobId = (slurmJobId: string) => `train-${slurmJobId}`;

/** What the watch needs from the Slurm client (src/cluster/slurm.ts SlurmClient fits). */
export interface MonitorSlurm {
  jobs(ids: readonly string[]): Promise<ReadonlyMap<string, JobSnapshot | null>>;
  history(
    ids: readonly string[],
  ): Promise<ReadonlyMap<string, { state: string; exitCode: string | null } | null>>;
  /** The job submitted with this `--comment`, if squeue lists it (for a submit its process did not see end). */
  findByComment?(comment: string): Promise<{ readonly id: string } | null>;
}

/**
 * What a submit records right before its sbatch (under the job's `--comment`): the watch to start, its log
 * path with `%j` for the job id. Read back from Redis, so parsed.
 */
const WatchIntent = z.object({
  at: z.number(),
  logPath: z.string().check(z.startsWith('/'), z.includes('%j')),
  req: z.omit(WatchRequest, { jobId: true, logPath: true }),
});
type WatchIntent = z.infer<typeof WatchIntent>;
/**
 * A submit younger than this may still be running its sbatch in a live process: left alone (were it taken
 * early, nothing would double: a watch is keyed by its Slurm job, and the live process starts it anyway).
 */
const INTENT_SETTLE_MS = 20_000;

export interface TrainingMonitorDeps {
  readonly factory: QueueFactory;
  /** The logs (one batched read per poll), and the config re-check behind a suggested fix. */
  readonly files: ClusterFiles;
  readonly slurm: MonitorSlurm;
  /** Where the thread's messages go (Slack, or the console). */
  readonly messenger: Messenger;
  readonly neoxDir: string;
  readonly log: Logger;
  /** Seconds between polls of squeue and the logs. */
  readonly pollMs: number;
  readonly options?: Partial<WatchOptions>;
  /** Most watches one process runs at once (each is one active BullMQ job). */
  readonly concurrency?: number;
  /** How long a crashed bot's watches stay locked before another worker resumes them. */
  readonly lockDurationMs?: number;
  readonly now?: () => number;
}

export interface WatchResult {
  readonly jobId: string;
  readonly lastIteration: number | null;
  readonly findings: readonly string[];
}

const never = () => new Promise<never>(() => {});

/** What must survive a restart; the poll counter alone does not. */
function signature(d: WatchData): string {
  return [
    d.offset,
    d.inode,
    d.slurmState,
    d.missing,
    d.outbox.length,
    d.done,
    d.threadTs,
    d.scan.findings.length,
    d.scan.partial.length,
    JSON.stringify(d.reported),
  ].join('|');
}

export class TrainingMonitor {
  readonly ticker: SqueueTicker<JobSnapshot>;
  readonly reader: LogReadBatcher;
  private worker: RunningWorker<WatchData, WatchResult> | null = null;
  private readonly options: WatchOptions;
  private readonly now: () => number;
  /** Bytes read from logs by this process, for the benchmark. */
  readonly stats = { bytesRead: 0, steps: 0, posts: 0, undeliverable: 0 };

  constructor(private readonly deps: TrainingMonitorDeps) {
    this.options = { ...DEFAULT_WATCH_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
    this.reader = deps.files.batchedLogReader({ maxBytesPerFile: this.options.maxReadBytes });
    this.ticker = new SqueueTicker<JobSnapshot>(deps.slurm, deps.pollMs, (e) =>
      deps.log.warn({ err: String(e) }, 'squeue poll failed; retrying next poll'),
    );
  }

  private get queue() {
    return this.deps.factory.queue<WatchData, WatchResult>(MONITOR_QUEUE);
  }

  #redis: Redis | undefined;
  private get intents(): { redis: Redis; key: string } {
    this.#redis ??= this.deps.factory.redis();
    return { redis: this.#redis, key: `${this.deps.factory.keyPrefix(MONITOR_QUEUE)}intents` };
  }

  /**
   * Before a submit's sbatch: the watch it will start, under the job's `--comment`. If the process dies
   * before `watch` (while sbatch runs, say), the next one to start finds the job by it and watches it.
   */
  async expect(comment: string, req: WatchIntent['req'], logPath: string): Promise<void> {
    const intent: WatchIntent = { at: this.now(), logPath, req };
    const { redis, key } = this.intents;
    await redis.hset(key, comment, JSON.stringify(WatchIntent.parse(intent)));
  }

  /**
   * Start watching a submitted job. Idempotent: a second call for the same Slurm job is a no-op. With the
   * `comment` the submit recorded in `expect`, that record is done with.
   */
  async watch(req: WatchRequest, opts: { readonly comment?: string } = {}): Promise<void> {
    const parsed = WatchRequest.parse(req);
    await this.queue.add('watch', createWatchData(parsed), {
      jobId: watchJobId(parsed.jobId),
      attempts: 1000,
      backoff: { type: 'fixed', delay: this.deps.pollMs },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    if (opts.comment) await this.intents.redis.hdel(this.intents.key, opts.comment);
  }

  /**
   * Submits that a process recorded but did not see to their watch (it died meanwhile): each job squeue
   * lists under its comment is watched now; one it does not list was never submitted (sbatch never ran or
   * failed) or has left the queue, and its record goes. Returns how many were watched.
   */
  async adoptSubmits(settleMs = INTENT_SETTLE_MS): Promise<number> {
    const find = this.deps.slurm.findByComment?.bind(this.deps.slurm);
    if (!find) return 0;
    const { redis, key } = this.intents;
    let adopted = 0;
    for (const [comment, raw] of Object.entries(await redis.hgetall(key))) {
      let intent: WatchIntent;
      try {
        intent = WatchIntent.parse(JSON.parse(raw));
      } catch {
        await redis.hdel(key, comment);
        continue;
      }
      if (this.now() - intent.at < settleMs) continue;
      const job = await find(comment);
      if (job) {
        const logPath = intent.logPath.replaceAll('%j', job.id);
        await this.watch({ ...intent.req, jobId: job.id, logPath }, { comment });
        this.deps.log.warn(
          { slurmJobId: job.id, comment },
          'a submit whose process died before its watch started: watching it now',
        );
        adopted++;
      } else {
        await redis.hdel(key, comment);
      }
    }
    return adopted;
  }

  /** The stored watch state of a Slurm job, if one was ever watched (for /train status). */
  async get(slurmJobId: string): Promise<WatchData | null> {
    const job = await this.queue.getJob(watchJobId(slurmJobId));
    return job ? job.data : null;
  }

  /** Start the worker that runs (and resumes) the watches, posting through the messenger. */
  start(): void {
    if (this.worker) return;
    const lock = this.deps.lockDurationMs ?? 30_000;
    this.worker = this.deps.factory.worker<WatchData, WatchResult>(
      MONITOR_QUEUE,
      (job, _token, shutdown) => this.run(job, shutdown),
      {
        concurrency: this.deps.concurrency ?? 500,
        lockDuration: lock,
        stalledInterval: Math.max(1000, Math.floor(lock / 2)),
        // A restart is routine for a watch; it must survive any number of them.
        maxStalledCount: 1_000_000,
      },
    );
    this.ticker.start();
    // At once, and then now and again: a submit recorded just before a crash is young at the restart.
    const adopt = () =>
      void this.adoptSubmits().catch((err: unknown) =>
        this.deps.log.warn({ err: String(err) }, 'looking for submits a crash left unwatched failed'),
      );
    adopt();
    this.#adopter = setInterval(adopt, INTENT_SETTLE_MS);
    this.#adopter.unref?.();
  }

  #adopter: NodeJS.Timeout | undefined;

  async close(graceMs = 0): Promise<void> {
    clearInterval(this.#adopter);
    this.ticker.stop();
    await this.worker?.close(graceMs);
    this.worker = null;
  }

  /** Crash simulation for tests: stop polling and drop the worker without finishing anything. */
  async kill(): Promise<void> {
    clearInterval(this.#adopter);
    this.ticker.stop();
    await this.worker?.kill();
    this.worker = null;
  }

  private async run(job: Job<WatchData, WatchResult>, shutdown: AbortSignal): Promise<WatchResult> {
    // Every watch of this worker waits on the same shutdown signal.
    setMaxListeners(0, shutdown);
    const data: WatchData = structuredClone(job.data);
    const stepDeps = {
      files: this.deps.files,
      now: this.now,
      options: this.options,
      finalState: async (id: string): Promise<FinalJobState | null> => {
        const j = (await this.deps.slurm.history([id])).get(id);
        return j ? { state: j.state, exitCode: j.exitCode } : null;
      },
      suggestFix: (d: WatchData, f: Finding) => suggestFix(this.deps.files, this.deps.neoxDir, d, f),
      readLog: (req: LogReadRequest) => this.reader.read(req),
    };
    // A resumed job may hold messages decided before the restart but not yet posted.
    await this.deliver(job, data, shutdown);
    let saved = signature(data);
    while (!data.done) {
      if (shutdown.aborted) return never();
      let snap: JobSnapshot | null;
      try {
        snap = await this.ticker.next(data.req.jobId, shutdown);
      } catch {
        return never(); // shut down while waiting: the next worker resumes this job
      }
      const before = data.bytesRead;
      const said = structuredClone(data.reported);
      try {
        await stepWatch(stepDeps, data, snap);
      } catch (e) {
        // A failed read (SSH hiccup) loses nothing: the offset only moves after a successful read.
        this.deps.log.warn({ jobId: data.req.jobId, err: String(e) }, 'training watch step failed; retrying');
        continue;
      }
      this.stats.steps += 1;
      this.stats.bytesRead += data.bytesRead - before;
      this.logEvents(said, data);
      if (shutdown.aborted) return never();
      // A quiet poll (no new bytes, nothing to say) is not worth a Redis write per watch.
      const now = signature(data);
      if (now !== saved) {
        await job.updateData(data);
        saved = now;
      }
      await this.deliver(job, data, shutdown);
      saved = signature(data);
    }
    // The final message must go out even if Slack was down when the job ended.
    while (data.outbox.length > 0) {
      await new Promise((r) => setTimeout(r, this.deps.pollMs));
      if (shutdown.aborted) return never();
      await this.deliver(job, data, shutdown);
    }
    return {
      jobId: data.req.jobId,
      lastIteration: data.scan.lastIteration,
      findings: data.reported.findings,
    };
  }

  /** One log line per watch event decided in this step: the report, each finding, the final state. */
  private logEvents(before: WatchData['reported'], data: WatchData): void {
    const save = data.req.save;
    const fields = {
      experiment: save ? (save.replace(/\/+$/, '').split('/').pop() ?? null) : null,
      step: data.scan.lastIteration,
      jobId: watchJobId(data.req.jobId),
      slurmJobId: data.req.jobId,
    };
    const now = data.reported;
    if (now.report50 && !before.report50) {
      this.deps.log.info(
        { ...fields, event: 'report', lastLoss: data.scan.lastLoss },
        'training report posted',
      );
    }
    for (const kind of now.findings.slice(before.findings.length)) {
      this.deps.log.warn({ ...fields, event: 'finding', kind }, `training finding: ${kind}`);
    }
    if (now.final && !before.final) {
      // The final state is Slurm's accounting answer, carried by the final message (squeue's last is RUNNING).
      const msg = data.outbox.find((r) => (r.data as { event?: unknown } | undefined)?.event === 'final');
      const state = (msg?.data as { state?: unknown } | undefined)?.state;
      const shown = typeof state === 'string' ? state : 'unknown';
      this.deps.log.info({ ...fields, event: 'final', state: shown }, `training job ended: ${shown}`);
    }
  }

  /** Post the outbox in order; each message leaves the outbox (and Redis) right after it is posted. */
  private async deliver(
    job: Job<WatchData, WatchResult>,
    data: WatchData,
    shutdown: AbortSignal,
  ): Promise<void> {
    while (data.outbox.length > 0 && !shutdown.aborted) {
      const reply = data.outbox[0];
      if (!reply) break;
      const target = {
        channel: data.req.channel,
        ...(data.threadTs ? { threadTs: data.threadTs } : {}),
        // Told in a DM if the channel refuses the bot for good.
        ...(data.req.submitter ? { notify: data.req.submitter } : {}),
        once: `watch:${data.key ?? data.req.jobId}:${data.delivered ?? 0}`,
      };
      let posted: { channel: string; ts: string } | null;
      try {
        posted = await this.deps.messenger.post(target, reply);
      } catch (e) {
        if (!(e instanceof UndeliverableError)) {
          // Transient (Slack down, rate limited past the pacer's retries): the next poll tries again.
          this.deps.log.warn(
            { jobId: data.req.jobId, err: String(e) },
            'posting a training update failed; will retry',
          );
          return;
        }
        // Refused for good, fallbacks included (the messenger logged it once): retrying would loop forever.
        this.stats.undeliverable += 1;
        posted = null;
      }
      if (posted) {
        this.stats.posts += 1;
        if (posted.channel !== data.req.channel) {
          // The thread moved to the fallback (the submitter's DM): the rest of it follows there.
          data.req.channel = posted.channel;
          data.threadTs = posted.ts;
        } else if (!data.threadTs) data.threadTs = posted.ts;
      }
      data.outbox.shift();
      data.delivered = (data.delivered ?? 0) + 1;
      if (shutdown.aborted) return;
      await job.updateData(data);
    }
  }
}
