// One squeue call per poll for every watched job: watches register for the next tick and all get their
// answer from the same call. The Slurm client also batches, but a fixed tick makes "one call per poll"
// hold whatever the timing of the individual watches.

export interface JobStatesSource<S> {
  jobs(ids: readonly string[]): Promise<ReadonlyMap<string, S | null>>;
}

interface Waiter<S> {
  resolve(s: S | null): void;
  reject(e: unknown): void;
}

export class SqueueTicker<S> {
  private waiters = new Map<string, Waiter<S>[]>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  /** squeue calls and ticks, for the benchmark. */
  readonly stats = { calls: 0, ticks: 0, errors: 0 };

  constructor(
    private readonly source: JobStatesSource<S>,
    private readonly pollMs: number,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The job's state at the next tick (null = squeue no longer lists it). */
  next(jobId: string, signal?: AbortSignal): Promise<S | null> {
    return new Promise<S | null>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        const l = this.waiters.get(jobId);
        if (l) {
          const rest = l.filter((x) => x !== w);
          if (rest.length === 0) this.waiters.delete(jobId);
          else this.waiters.set(jobId, rest);
        }
        reject(signal?.reason);
      };
      // Every watch waits on the same shutdown signal each poll: the listener must go once answered.
      const w: Waiter<S> = {
        resolve: (s) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const list = this.waiters.get(jobId) ?? [];
      list.push(w);
      this.waiters.set(jobId, list);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async tick(): Promise<void> {
    if (this.inFlight || this.waiters.size === 0) return;
    this.inFlight = true;
    const batch = this.waiters;
    this.waiters = new Map();
    this.stats.ticks += 1;
    try {
      this.stats.calls += 1;
      const states = await this.source.jobs([...batch.keys()]);
      for (const [id, ws] of batch) for (const w of ws) w.resolve(states.get(id) ?? null);
    } catch (e) {
      this.stats.errors += 1;
      this.onError(e);
      // Keep them for the next tick: a failed squeue says nothing about the jobs.
      for (const [id, ws] of batch) this.waiters.set(id, [...ws, ...(this.waiters.get(id) ?? [])]);
    } finally {
      this.inFlight = false;
    }
  }
}
