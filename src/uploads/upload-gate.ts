import type { Redis } from 'ioredis';

// The upload queue's admission control, in Redis so every bot replica shares it. BullMQ OSS has no per-key
// concurrency (groups are Pro), so per-experiment serialization is a lock here, and pacing to the Hub is a
// commit budget here. A job that is refused is delayed (never sleeps holding a worker slot or a Slurm node).
//
// The budget is a sliding log, not a fixed-window counter: the Hub's windows are fixed but we cannot see
// where they start, and a pipeline commits a few seconds after we admit it. "At most L commits in ANY span
// of W + margin" keeps every Hub window under L whatever its alignment, at the same steady rate L/W.

export interface PauseState {
  /** Epoch ms when starts may resume. */
  readonly until: number;
  readonly reason: string;
  readonly setAt: number;
}

export type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: 'paused'; readonly retryAt: number; readonly pause: PauseState }
  | { readonly ok: false; readonly why: 'experiment-busy'; readonly retryAt: number; readonly holder: string }
  | { readonly ok: false; readonly why: 'budget'; readonly retryAt: number };

export interface BudgetSettings {
  /** Commits the Hub accepts per window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Extra span added to the window to absorb the submit→commit delay jitter. */
  readonly marginMs: number;
}

export interface GateSettings {
  readonly budget: BudgetSettings;
  /** How long a per-experiment lock lives without renewal (renewed while the pipeline runs). */
  readonly lockTtlMs: number;
  /** A job refused by the lock re-checks after this long, unless the holder promotes it earlier. */
  readonly lockRecheckMs: number;
}

const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1]}
end
return {0, cur}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS[1] budget zset. ARGV: now, span, limit, cost, member. Returns {1,0} or {0, ms until enough frees}.
const RESERVE = `
local now = tonumber(ARGV[1]); local span = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local n = redis.call('ZCARD', KEYS[1])
if n + cost <= limit then
  for i = 1, cost do redis.call('ZADD', KEYS[1], now, ARGV[5] .. '#' .. i) end
  redis.call('PEXPIRE', KEYS[1], span * 2)
  return {1, 0}
end
if cost > limit then return {0, span} end
local need = n + cost - limit
local e = redis.call('ZRANGE', KEYS[1], need - 1, need - 1, 'WITHSCORES')
return {0, math.max(1, tonumber(e[2]) + span - now)}`;

// KEYS[1] pause key. ARGV: now, until, json. Only ever extends a pause.
const PAUSE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and tonumber(v['until']) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', math.max(1, tonumber(ARGV[2]) - tonumber(ARGV[1])))
return 1`;

export class UploadGate {
  constructor(
    private readonly redis: Redis,
    /** Key namespace, e.g. `factory.keyPrefix('ckpt-upload')`. */
    private readonly keys: string,
    private readonly settings: GateSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Admit one pipeline run: not paused, the experiment's lock (when singleton), then `cost` commits of budget.
   * On refusal nothing is held.
   */
  async admit(req: {
    jobId: string;
    experiment: string;
    singleton: boolean;
    cost: number;
  }): Promise<Admission> {
    const pause = await this.pause();
    if (pause) return { ok: false, why: 'paused', retryAt: pause.until, pause };
    if (req.singleton) {
      const holder = await this.acquireLock(req.experiment, req.jobId);
      if (holder !== req.jobId) {
        await this.redis.zadd(this.waitersKey(req.experiment), 'NX', this.now(), req.jobId);
        return {
          ok: false,
          why: 'experiment-busy',
          retryAt: this.now() + this.settings.lockRecheckMs,
          holder,
        };
      }
    }
    const now = this.now();
    const b = this.settings.budget;
    const r = (await this.redis.eval(
      RESERVE,
      1,
      `${this.keys}budget`,
      String(now),
      String(b.windowMs + b.marginMs),
      String(b.limit),
      String(req.cost),
      `${req.jobId}@${now}`,
    )) as [number, number];
    if (r[0] === 1) {
      if (req.singleton) await this.redis.zrem(this.waitersKey(req.experiment), req.jobId);
      return { ok: true };
    }
    // Let go of the experiment so the lock does not sit idle while we wait for budget.
    if (req.singleton) await this.releaseLock(req.experiment, req.jobId);
    return { ok: false, why: 'budget', retryAt: now + r[1] };
  }

  /** Returns the current holder (the caller itself when acquired or already held). */
  async acquireLock(experiment: string, jobId: string): Promise<string> {
    const r = (await this.redis.eval(
      ACQUIRE,
      1,
      this.lockKey(experiment),
      jobId,
      String(this.settings.lockTtlMs),
    )) as [number, string];
    return r[1];
  }

  /** Keep the lock while the pipeline runs. False when it was lost (expired and taken). */
  async renewLock(experiment: string, jobId: string): Promise<boolean> {
    return (await this.acquireLock(experiment, jobId)) === jobId;
  }

  /** Release the experiment if we hold it; the caller then promotes the oldest waiter. */
  async releaseLock(experiment: string, jobId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKey(experiment), jobId);
  }

  /** Oldest jobs waiting for this experiment (to promote after a release). */
  async waiters(experiment: string, max = 1): Promise<string[]> {
    return this.redis.zrange(this.waitersKey(experiment), 0, max - 1);
  }

  async removeWaiter(experiment: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.waitersKey(experiment), jobId);
  }

  async lockHolder(experiment: string): Promise<string | null> {
    return this.redis.get(this.lockKey(experiment));
  }

  /** Pause all starts until `until` (only ever extends an existing pause). */
  async pauseUntil(until: number, reason: string): Promise<void> {
    const now = this.now();
    if (until <= now) return;
    const state: PauseState = { until, reason, setAt: now };
    await this.redis.eval(PAUSE, 1, `${this.keys}pause`, String(now), String(until), JSON.stringify(state));
  }

  async pause(): Promise<PauseState | null> {
    const raw = await this.redis.get(`${this.keys}pause`);
    if (!raw) return null;
    try {
      const v = JSON.parse(raw) as PauseState;
      return typeof v.until === 'number' && v.until > this.now() ? v : null;
    } catch {
      return null;
    }
  }

  async clearPause(): Promise<void> {
    await this.redis.del(`${this.keys}pause`);
  }

  /** Commits admitted within the current span (for `/ckpt queue`). */
  async budgetUsed(): Promise<number> {
    const b = this.settings.budget;
    return this.redis.zcount(`${this.keys}budget`, this.now() - (b.windowMs + b.marginMs), '+inf');
  }

  get budget(): BudgetSettings {
    return this.settings.budget;
  }

  private lockKey(experiment: string): string {
    return `${this.keys}lock:${experiment}`;
  }

  private waitersKey(experiment: string): string {
    return `${this.keys}waiters:${experiment}`;
  }
}
