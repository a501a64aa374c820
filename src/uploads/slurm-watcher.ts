import type { PipelineCluster } from './pipeline-cluster.js';

// Every upload job in a worker process waits for its own pipeline run. One poller asks Slurm about all of
// them with a single squeue per interval (never one squeue per job: docs/domain.md#slurm).

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
}

export class SlurmWatcher {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  /** squeue calls made (for tests and the bench: proves polling is batched). */
  polls = 0;

  constructor(
    private readonly cluster: PipelineCluster,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Resolves once the job has left squeue or reached an end state, or `signal` fired (`shutdown: true`). */
  waitForEnd(jobId: string, signal?: AbortSignal, onState?: (state: string) => void): Promise<WaitEnd> {
    return new Promise((resolve) => {
      const onAbort = () => {
        this.remove(jobId, w);
        resolve({ lastState: w.lastState, shutdown: true });
      };
      const w: Waiter = {
        lastState: null,
        onState,
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
    });
  }

  /** Number of jobs being watched. */
  get size(): number {
    return this.waiters.size;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiters.clear();
  }

  private remove(jobId: string, w: Waiter): void {
    const set = this.waiters.get(jobId);
    set?.delete(w);
    if (set && set.size === 0) this.waiters.delete(jobId);
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
