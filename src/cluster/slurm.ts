import { JobId, UnixUser } from '../args.js';
import { ClusterError, UserError } from '../errors.js';
import type { SubmitOptions } from './sbatch-options.js';
import { scontrolToJob } from './scontrol-parse.js';
import { slurmCommandFailed, validateArg } from './slurm-errors.js';
import type { JobInfo, JobState } from './slurm-job.js';
import { sacctJobs } from './slurm-sacct.js';
import { type SubmitResult, submitBatch } from './slurm-submit.js';
import { parseSqueue, SQUEUE_FORMAT } from './squeue-parse.js';
import type { RunResult, Transport } from './transport.js';

export interface SlurmClientOptions {
  /** How long a squeue answer is reused for the same ids (ms). Default 2000. */
  readonly cacheTtlMs?: number;
  /** Callers within this window share one squeue call (ms). Default 10. */
  readonly batchWindowMs?: number;
  /** Timeout of each Slurm command (ms). Default 30 s. */
  readonly timeoutMs?: number;
  /** Clock for the cache (tests). */
  readonly now?: () => number;
}

export interface QueueSummary {
  readonly user: string | null;
  readonly running: number;
  readonly pending: number;
  /** Everything else still listed (completing, suspended, …). */
  readonly other: number;
  readonly jobs: readonly JobInfo[];
}

/** Counters of Slurm commands run, for tests and benchmarks. */
export interface SlurmStats {
  squeue: number;
  scontrol: number;
  sacct: number;
  sbatch: number;
  scancel: number;
}

interface CacheEntry {
  readonly at: number;
  readonly job: JobInfo | null;
}

interface Batch {
  readonly ids: Set<JobId>;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export type { SubmitOptions } from './sbatch-options.js';
export { validateArg } from './slurm-errors.js';
export type { JobInfo, JobState } from './slurm-job.js';
export { isActiveState, isFinishedState } from './slurm-job.js';
export type { SubmitResult } from './slurm-submit.js';

const INVALID_JOB_ID = /Invalid job id specified/i;
const MAX_IDS_PER_SQUEUE = 500;

/**
 * sbatch / squeue / scontrol / scancel / sacct over any Transport. squeue is asked once per batch for
 * every id callers want: never per job, and never faster than the cluster tolerates.
 */
export class SlurmClient {
  readonly #t: Transport;
  readonly #ttl: number;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<JobId, CacheEntry>();
  readonly #inflight = new Map<JobId, Promise<void>>();
  #pending: Batch | undefined;
  /** undefined = not tried yet; false = this cluster has no accounting (sacct disabled or absent). */
  #accounting: boolean | undefined;
  readonly stats: SlurmStats = { squeue: 0, scontrol: 0, sacct: 0, sbatch: 0, scancel: 0 };

  constructor(transport: Transport, opts: SlurmClientOptions = {}) {
    this.#t = transport;
    this.#ttl = opts.cacheTtlMs ?? 2000;
    this.#window = opts.batchWindowMs ?? 10;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether sacct answered (true), failed for lack of accounting (false), or was never asked (undefined). */
  get accounting(): boolean | undefined {
    return this.#accounting;
  }

  async #run(argv: string[]): Promise<RunResult> {
    return this.#t.run(argv, { timeoutMs: this.#timeoutMs });
  }

  /** A read (squeue, scontrol, sacct): asked once more when the connection died under it. */
  async #read(argv: string[]): Promise<RunResult> {
    try {
      return await this.#run(argv);
    } catch (e) {
      if (!(e instanceof ClusterError && e.details.connectionLost)) throw e;
      return this.#run(argv);
    }
  }

  /** This account's job in squeue (pending, running, just ended) with exactly this `--comment`, or null. */
  async findByComment(comment: string): Promise<JobInfo | null> {
    return (await this.#squeue(['--me'])).find((j) => j.comment === comment) ?? null;
  }

  /**
   * Submit a batch script; returns the job id sbatch printed. Never sent twice: when the connection dies
   * while sbatch runs, the job is looked for by its comment (give each request its own) before anything
   * is said, and without a comment the loss is reported as it is.
   */
  async submit(opts: SubmitOptions): Promise<SubmitResult> {
    try {
      return await submitBatch((argv) => {
        this.stats.sbatch++;
        return this.#run(argv);
      }, opts);
    } catch (e) {
      if (!(e instanceof ClusterError && e.details.connectionLost) || !opts.comment) throw e;
      const found = (await this.#squeue(['--me'])).find((j) => j.comment === opts.comment);
      if (found)
        return { jobId: validateArg(JobId, found.id, 'job id'), cluster: null, argv: e.details.argv ?? [] };
      throw new ClusterError(
        `The connection to the cluster was lost while sbatch ran, and no job with this request's comment is in the queue: it was not submitted. Nothing was sent again; submit it again when the cluster answers.`,
        { ...e.details },
      );
    }
  }

  /**
   * Live state of many jobs with one squeue call (shared with every caller in the same batch window, reused
   * for cacheTtlMs). A job squeue does not list maps to null: use job() or history() for finished jobs.
   */
  async jobs(ids: readonly string[]): Promise<Map<JobId, JobInfo | null>> {
    const valid = [...new Set(ids.map((id) => validateArg(JobId, id, 'job id')))];
    const now = this.#now();
    const stale = valid.filter((id) => {
      const e = this.#cache.get(id);
      return e === undefined || now - e.at >= this.#ttl;
    });
    if (stale.length > 0) await this.#request(stale);
    const out = new Map<JobId, JobInfo | null>();
    for (const id of valid) out.set(id, this.#cache.get(id)?.job ?? null);
    return out;
  }

  async #request(ids: readonly JobId[]): Promise<void> {
    const waits = new Set<Promise<void>>();
    for (const id of ids) {
      const inflight = this.#inflight.get(id);
      if (inflight) {
        waits.add(inflight);
        continue;
      }
      const batch = this.#pendingBatch();
      batch.ids.add(id);
      waits.add(batch.promise);
    }
    await Promise.all(waits);
  }

  #pendingBatch(): Batch {
    if (this.#pending) return this.#pending;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Every waiter awaits the promise; this only stops an unobserved rejection from crashing the process.
    promise.catch(() => {});
    const batch: Batch = { ids: new Set(), promise, resolve, reject };
    this.#pending = batch;
    setTimeout(() => void this.#flush(batch), this.#window);
    return batch;
  }

  async #flush(batch: Batch): Promise<void> {
    if (this.#pending === batch) this.#pending = undefined;
    const ids = [...batch.ids];
    for (const id of ids) this.#inflight.set(id, batch.promise);
    try {
      const listed: JobInfo[] = [];
      // One call per batch in practice; a huge batch is split so the command line stays a sane length.
      for (let i = 0; i < ids.length; i += MAX_IDS_PER_SQUEUE) {
        listed.push(...(await this.#squeue(['-j', ids.slice(i, i + MAX_IDS_PER_SQUEUE).join(',')])));
      }
      const at = this.#now();
      const byId = new Map(listed.map((j) => [j.id, j]));
      for (const id of ids) this.#cache.set(id, { at, job: byId.get(id) ?? null });
      this.#prune(at);
      batch.resolve();
    } catch (e) {
      batch.reject(e);
    } finally {
      for (const id of ids) if (this.#inflight.get(id) === batch.promise) this.#inflight.delete(id);
    }
  }

  #prune(now: number): void {
    if (this.#cache.size < 1000) return;
    for (const [id, e] of this.#cache) if (now - e.at >= this.#ttl) this.#cache.delete(id);
  }

  async #squeue(filter: string[]): Promise<JobInfo[]> {
    const argv = ['squeue', '--noheader', ...filter, '-o', SQUEUE_FORMAT];
    this.stats.squeue++;
    const r = await this.#read(argv);
    // squeue warns about an unknown user on stderr but exits 0 with an empty list.
    const badUser = /Invalid user:?\s*(\S+)/i.exec(r.stderr);
    if (badUser) throw new UserError(`the cluster has no user "${badUser[1]}"`);
    if (r.exitCode !== 0) {
      // squeue -j <one id it forgot> fails instead of printing nothing.
      if (INVALID_JOB_ID.test(r.stderr)) return [];
      throw slurmCommandFailed(argv, r);
    }
    return parseSqueue(r.stdout).jobs;
  }

  /**
   * One job, wherever Slurm still knows it: squeue (batched with other callers), then scontrol (finished
   * jobs for MinJobAge), then sacct when the cluster has accounting. null when nobody knows it.
   */
  async job(id: string): Promise<JobInfo | null> {
    const jobId = validateArg(JobId, id, 'job id');
    const live = (await this.jobs([jobId])).get(jobId);
    if (live) return live;
    return (await this.history([jobId])).get(jobId) ?? null;
  }

  /** `scontrol -o show job <id>`; null if Slurm has forgotten the job. */
  async scontrolJob(id: string): Promise<JobInfo | null> {
    const jobId = validateArg(JobId, id, 'job id');
    const argv = ['scontrol', '--oneliner', 'show', 'job', jobId];
    this.stats.scontrol++;
    const r = await this.#read(argv);
    if (r.exitCode !== 0) {
      if (INVALID_JOB_ID.test(r.stderr)) return null;
      throw slurmCommandFailed(argv, r);
    }
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const jobs = lines.map(scontrolToJob).filter((j): j is JobInfo => j !== null);
    return jobs.find((j) => j.id === jobId) ?? jobs[0] ?? null;
  }

  /**
   * Final (or current) records of jobs: one sacct call when the cluster keeps accounting, otherwise
   * scontrol per job (finished jobs stay there for MinJobAge, 5 minutes by default).
   */
  async history(ids: readonly string[]): Promise<Map<JobId, JobInfo | null>> {
    const valid = [...new Set(ids.map((id) => validateArg(JobId, id, 'job id')))];
    const out = new Map<JobId, JobInfo | null>();
    if (valid.length === 0) return out;
    const fromSacct = await this.sacct(valid);
    for (const id of valid) {
      const j = fromSacct?.get(id) ?? (await this.scontrolJob(id));
      out.set(id, j);
    }
    return out;
  }

  /**
   * sacct for the given jobs; null when this cluster has no accounting (remembered, so later calls go
   * straight to the fallback).
   */
  async sacct(ids: readonly string[]): Promise<Map<JobId, JobInfo> | null> {
    const valid = [...new Set(ids.map((id) => validateArg(JobId, id, 'job id')))];
    if (this.#accounting === false || valid.length === 0) return null;
    const out = await sacctJobs((argv) => {
      this.stats.sacct++;
      return this.#read(argv);
    }, valid);
    this.#accounting = out !== null;
    return out;
  }

  /** scancel the job. Slurm accepts cancelling an ended job silently; check job() to see the outcome. */
  async cancel(id: string): Promise<void> {
    const jobId = validateArg(JobId, id, 'job id');
    const argv = ['scancel', '--', jobId];
    this.stats.scancel++;
    const r = await this.#run(argv);
    if (r.exitCode !== 0) throw slurmCommandFailed(argv, r);
    this.#cache.delete(jobId);
  }

  /** Jobs still in the queue, for one user (validated unix name) or everyone, with running/pending counts. */
  async queueSummary(user?: string): Promise<QueueSummary> {
    const u = user === undefined ? null : validateArg(UnixUser, user, 'cluster user');
    const jobs = await this.#squeue(u === null ? [] : [`--user=${u}`]);
    const at = this.#now();
    for (const j of jobs) {
      const id = JobId.safeParse(j.id);
      if (id.success) this.#cache.set(id.data, { at, job: j });
    }
    const count = (s: JobState) => jobs.filter((j) => j.state === s).length;
    const running = count('RUNNING');
    const pending = count('PENDING');
    return { user: u, running, pending, other: jobs.length - running - pending, jobs };
  }
}
