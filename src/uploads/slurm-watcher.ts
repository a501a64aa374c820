import type { PipelineCluster } from './pipeline-cluster.js';

// Every upload job in a worker process waits for its own pipeline run. One poller asks Slurm about all of
// them with a single squeue per interval (never one squeue per job: docs/domain.md#slurm).
//
// Between polls, a cheaper check sees a run end within seconds: every `endCheckMs` one stat of all the runs'
// logs (the stat agent kept on the SSH connection, so no process starts), and for the logs that just
// stopped growing, one command that looks for the completion line the pipeline writes last
// (docs/domain.md#checkpoint-pipeline). A log that keeps growing is a running pipeline, so the command
// runs only a few times per run. squeue stays the authority: a run that dies without its completion line,
// or a cluster where stats need a command, ends at the next poll as before.

const ENDED = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
]);

export interface WaitEnd {
  /** The last state seen before the job left the queue (null if never seen). */
  readonly lastState: string | null;
  /** True when the wait ended because the caller's signal fired, not because the job ended. */
  readonly shutdown: boolean;
}

interface Waiter {
  resolve(lastState: string | null): void;
  lastState: string | null;
  onState?: ((state: string) => void) | undefined;
  /** The run's log, when the caller knows it: the end check watches it. */
  logPath?: string | undefined;
}

/** What the end check remembers about one log between checks. */
interface LogSeen {
  size: number | null;
  /** It grew since its completion line was last looked for. */
  grew: boolean;
}

/** How often the run logs are stat'ed between squeue polls (only when the poll is slower than this). */
export const DEFAULT_END_CHECK_MS = 1_000;

export class SlurmWatcher {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private endTimer: NodeJS.Timeout | null = null;
  private checking = false;
  private readonly logs = new Map<string, LogSeen>();
  /** squeue calls made (for tests and the bench: proves polling is batched). */
  polls = 0;
  /** Completion-line commands run by the end check, and runs it saw end before squeue did. */
  endChecks = 0;
  endsSeenEarly = 0;

  constructor(
    private readonly cluster: PipelineCluster,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly endCheckMs: number = DEFAULT_END_CHECK_MS,
  ) {}

  /**
   * Resolves once the job has left squeue or reached an end state, its log (`logPath`) shows the pipeline's
   * completion line, or `signal` fired (`shutdown: true`).
   */
  waitForEnd(
    jobId: string,
    signal?: AbortSignal,
    onState?: (state: string) => void,
    logPath?: string,
  ): Promise<WaitEnd> {
    return new Promise((resolve) => {
      const onAbort = () => {
        this.remove(jobId, w);
        resolve({ lastState: w.lastState, shutdown: true });
      };
      const w: Waiter = {
        lastState: null,
        onState,
        logPath,
        resolve: (s) => {
          signal?.removeEventListener('abort', onAbort);
          this.remove(jobId, w);
          resolve({ lastState: s, shutdown: false });
        },
      };
      if (signal?.aborted) return onAbort();
      const set = this.waiters.get(jobId) ?? new Set<Waiter>();
      set.add(w);
      this.waiters.set(jobId, set);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedule();
      this.scheduleEndCheck();
    });
  }

  /** Number of jobs being watched. */
  get size(): number {
    return this.waiters.size;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.endTimer) clearTimeout(this.endTimer);
    this.timer = null;
    this.endTimer = null;
    this.waiters.clear();
    this.logs.clear();
  }

  private remove(jobId: string, w: Waiter): void {
    const set = this.waiters.get(jobId);
    set?.delete(w);
    if (set && set.size === 0) this.waiters.delete(jobId);
    if (w.logPath && !this.watchedLogs().has(w.logPath)) this.logs.delete(w.logPath);
  }

  /** Log path → the jobs waiting on it. */
  private watchedLogs(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, set] of this.waiters) {
      for (const w of set) if (w.logPath) out.set(w.logPath, [...(out.get(w.logPath) ?? []), id]);
    }
    return out;
  }

  private scheduleEndCheck(): void {
    // Only worth it when squeue is asked less often than this, and only with a way to stat without a command.
    if (this.endCheckMs >= this.pollMs || !this.cluster.logSizes || !this.cluster.logEnds) return;
    if (this.endTimer || this.checking || this.waiters.size === 0) return;
    this.endTimer = setTimeout(() => {
      this.endTimer = null;
      void this.checkEnds();
    }, this.endCheckMs);
  }

  private async checkEnds(): Promise<void> {
    this.checking = true;
    try {
      const watched = this.watchedLogs();
      const paths = [...watched.keys()];
      const sizes = paths.length > 0 ? await this.cluster.logSizes?.(paths) : null;
      if (!sizes) return;
      const quiet: string[] = [];
      paths.forEach((p, i) => {
        const size = sizes[i] ?? null;
        const seen = this.logs.get(p);
        if (!seen || seen.size !== size) {
          this.logs.set(p, { size, grew: size !== null });
        } else if (seen.grew) {
          // It grew, then stayed the same for a whole interval: the pipeline may have written its last line.
          quiet.push(p);
        }
      });
      if (quiet.length === 0 || !this.cluster.logEnds) return;
      this.endChecks++;
      const ends = await this.cluster.logEnds(quiet);
      // Looked at: not again until it grows. (A failed look leaves them to be looked at next time.)
      for (const p of quiet) {
        const seen = this.logs.get(p);
        if (seen) seen.grew = false;
      }
      quiet.forEach((p, i) => {
        if (ends[i] !== 'ended') return;
        for (const id of watched.get(p) ?? []) {
          for (const w of [...(this.waiters.get(id) ?? [])]) {
            if (w.logPath !== p) continue;
            this.endsSeenEarly++;
            w.resolve(w.lastState);
          }
        }
      });
    } catch (e) {
      // Only a shortcut: squeue still says when the run ends.
      this.onError(e);
    } finally {
      this.checking = false;
      this.scheduleEndCheck();
    }
  }

  private schedule(): void {
    if (this.timer || this.polling || this.waiters.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, this.pollMs);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      const ids = [...this.waiters.keys()];
      if (ids.length === 0) return;
      this.polls++;
      const states = await this.cluster.states(ids);
      for (const id of ids) {
        const st = states.get(id)?.state ?? null;
        for (const w of [...(this.waiters.get(id) ?? [])]) {
          if (st !== null && st !== w.lastState) w.onState?.(st);
          if (st === null || ENDED.has(st)) w.resolve(st ?? w.lastState);
          else w.lastState = st;
        }
      }
    } catch (e) {
      // The cluster being unreachable for a poll is not the pipeline failing: keep waiting.
      this.onError(e);
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}
