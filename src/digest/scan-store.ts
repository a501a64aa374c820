import type { Redis } from 'ioredis';
import type { LogRecord } from '../pipeline/digest-stats.js';
import * as z from '../zod.js';

/** What a sweep remembers about one log: enough to skip it next time and to count it without re-reading. */
export interface StoredLog extends LogRecord {
  /** find's `%T@` text, compared verbatim. */
  readonly mtime: string;
}

/** What a directory's last sweeps left: every log read, and the directory mtime a quick check can trust. */
export interface DirState {
  /** Read-only: it may be the store's own cache (copy it before changing anything). */
  readonly logs: ReadonlyMap<string, StoredLog>;
  /** find's `%T@` of the directory at the last full sweep, if it was settled then. */
  readonly dirMtime: string | null;
}

export interface ScanStore {
  load(dir: string): Promise<DirState>;
  /**
   * Records `logs` as the directory's whole state, where the logs named in `changed` were added, changed or
   * removed since load(); writes them and the directory mtime together, so a quick check never trusts a
   * half-saved sweep. The store may keep `logs` itself: the caller must not change it afterwards.
   */
  save(
    dir: string,
    logs: ReadonlyMap<string, StoredLog>,
    changed: readonly string[],
    dirMtime: string | null,
  ): Promise<void>;
  /** Runs `fn` while no other sweep of `dir` runs (in any process sharing the store). */
  withLock<T>(dir: string, fn: () => Promise<T>): Promise<T>;
}

/** For the offline CLI and one-shot digests: nothing outlives the process. */
export class MemoryScanStore implements ScanStore {
  readonly #dirs = new Map<string, DirState>();

  async load(dir: string): Promise<DirState> {
    const d = this.#dirs.get(dir);
    return { logs: d?.logs ?? new Map(), dirMtime: d?.dirMtime ?? null };
  }

  async save(
    dir: string,
    logs: ReadonlyMap<string, StoredLog>,
    _changed: readonly string[],
    dirMtime: string | null,
  ): Promise<void> {
    this.#dirs.set(dir, { logs, dirMtime });
  }

  withLock<T>(_dir: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }
}

// Stored values come back from Redis, which anyone could have written: parse them like any other input.
// A compact positional form: 10,000 logs are read and written at once, so every byte per record counts.
const Outcome = z.enum(['succeeded', 'failed', 'running']);
const Cause = z.nullable(z.enum(['rate_limited', 'timeout', 'other']));
const Hint = z.nullable(
  z.object({
    policy: z.optional(z.string()),
    remaining: z.optional(z.number()),
    resetSeconds: z.optional(z.number()),
    retryAfterSeconds: z.optional(z.number()),
  }),
);
const StoredTuple = z.tuple([
  z.number(), // size
  z.string(), // mtime as find printed it
  z.number(), // mtimeMs
  z.nullable(z.string()), // jobId
  z.nullable(z.string()), // experiment
  z.nullable(z.number()), // step
  Outcome,
  z.nullable(z.number()), // exitCode
  z.nullable(z.string()), // completedAt
  z.array(z.string()), // uploadedRepos
  z.number(), // rateLimitHits
  Hint,
  z.number(), // timeoutHits
  z.boolean(), // repoAlreadyExists
  Cause,
  z.nullable(z.string()), // tellingLine
]);

export function encodeStoredLog(l: StoredLog): string {
  const r = l.run;
  return JSON.stringify([
    l.size,
    l.mtime,
    l.mtimeMs,
    r.jobId,
    r.experiment,
    r.step,
    r.outcome,
    r.exitCode,
    r.completedAt,
    r.uploadedRepos,
    r.rateLimitHits,
    r.rateLimit,
    r.timeoutHits,
    r.repoAlreadyExists,
    r.failureCause,
    r.tellingLine,
  ]);
}

/** null when the value is not one we wrote (it is then forgotten, and the next sweep re-reads the log). */
export function decodeStoredLog(name: string, json: string): StoredLog | null {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  const p = StoredTuple.safeParse(raw);
  if (!p.success) return null;
  const [size, mtime, mtimeMs, jobId, experiment, step, outcome, exitCode, completedAt, uploadedRepos, hits] =
    p.data;
  const [, , , , , , , , , , , rateLimit, timeoutHits, repoAlreadyExists, failureCause, tellingLine] = p.data;
  return {
    name,
    size,
    mtime,
    mtimeMs,
    run: {
      jobId,
      experiment,
      step,
      outcome,
      exitCode,
      completedAt,
      uploadedRepos,
      rateLimitHits: hits,
      rateLimit,
      timeoutHits,
      repoAlreadyExists,
      failureCause,
      tellingLine,
    },
  };
}

export interface RedisScanStoreOptions {
  /** A client, or a function giving one on first use (so building the store connects to nothing). */
  readonly redis: Redis | (() => Redis);
  /** Key prefix, e.g. `chatops` → `chatops:pipeline-scan:<dir>`. Tests use a random one. */
  readonly prefix: string;
  /** A sweep holding the lock longer than this is presumed dead. */
  readonly lockTtlMs?: number;
  readonly lockWaitMs?: number;
}

const MTIME = /^\d+(\.\d+)?$/;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Logs per directory are spread over this many hash fields: few enough that writing or reading 10,000 of
 * them is a handful of Redis arguments, many enough that a sweep with a few new logs rewrites little. */
export const SCAN_BUCKETS = 64;

/** FNV-1a over the name: which bucket a log lives in. */
export function bucketOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SCAN_BUCKETS;
}

/**
 * One Redis hash per log directory: field = bucket number, value = one `name<TAB>JSON StoredLog` line per
 * log in it. Beside it the version counter (`:v`) and the settled directory mtime (`:m`).
 */
export class RedisScanStore implements ScanStore {
  readonly #cache = new Map<string, { version: string; logs: ReadonlyMap<string, StoredLog> }>();

  #redis: Redis | null = null;

  constructor(private readonly opts: RedisScanStoreOptions) {}

  private get redis(): Redis {
    this.#redis ??= typeof this.opts.redis === 'function' ? this.opts.redis() : this.opts.redis;
    return this.#redis;
  }

  key(dir: string): string {
    return `${this.opts.prefix}:pipeline-scan:${dir}`;
  }

  async load(dir: string): Promise<DirState> {
    const key = this.key(dir);
    // A re-sweep with nothing new must stay cheap: keep the parsed map in memory and re-read the hash only
    // when its version counter says another process (or a lost write) changed it.
    const [version, mark] = await this.redis.mget(`${key}:v`, `${key}:m`);
    const dirMtime = mark !== null && mark !== undefined && MTIME.test(mark) ? mark : null;
    const cached = this.#cache.get(dir);
    if (cached && cached.version === (version ?? '0')) return { logs: cached.logs, dirMtime };
    const res = await this.redis.multi().hgetall(key).get(`${key}:v`).get(`${key}:m`).exec();
    const all = (res?.[0]?.[1] ?? {}) as Record<string, string>;
    const v = (res?.[1]?.[1] ?? null) as string | null;
    const m = (res?.[2]?.[1] ?? null) as string | null;
    const out = new Map<string, StoredLog>();
    for (const bucket of Object.values(all)) {
      for (const line of bucket.split('\n')) {
        const tab = line.indexOf('\t');
        // A value we cannot read is simply forgotten: the next sweep sees the file as new and re-reads it.
        const rec = tab > 0 ? decodeStoredLog(line.slice(0, tab), line.slice(tab + 1)) : null;
        if (rec) out.set(rec.name, rec);
      }
    }
    this.#cache.set(dir, { version: v ?? '0', logs: out });
    return { logs: out, dirMtime: m !== null && MTIME.test(m) ? m : null };
  }

  async save(
    dir: string,
    logs: ReadonlyMap<string, StoredLog>,
    changed: readonly string[],
    dirMtime: string | null,
  ): Promise<void> {
    const key = this.key(dir);
    const multi = this.redis.multi();
    if (dirMtime === null) multi.del(`${key}:m`);
    else multi.set(`${key}:m`, dirMtime);
    // Only a change of the logs moves the version (and so makes other processes re-read the hash).
    if (changed.length === 0) {
      await multi.exec();
      return;
    }
    // Rewrite the buckets the change touched, whole, from the state we were given.
    const touched = new Map<number, string[]>(changed.map((n) => [bucketOf(n), []]));
    for (const l of logs.values()) touched.get(bucketOf(l.name))?.push(`${l.name}\t${encodeStoredLog(l)}`);
    const fields: string[] = [];
    const empty: string[] = [];
    for (const [b, lines] of touched) {
      if (lines.length > 0) fields.push(String(b), lines.join('\n'));
      else empty.push(String(b));
    }
    if (fields.length > 0) multi.hset(key, ...fields);
    if (empty.length > 0) multi.hdel(key, ...empty);
    multi.incr(`${key}:v`);
    const res = await multi.exec();
    const newVersion = Number(res?.at(-1)?.[1]);
    const cached = this.#cache.get(dir);
    // Another writer in between (only if a lock expired) would leave our picture incomplete: re-read then.
    if (cached && Number(cached.version) === newVersion - 1) {
      this.#cache.set(dir, { version: String(newVersion), logs });
    } else {
      this.#cache.delete(dir);
    }
  }

  async withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const lockKey = `${this.key(dir)}:lock`;
    const token = crypto.randomUUID();
    const ttl = this.opts.lockTtlMs ?? 600_000;
    const deadline = Date.now() + (this.opts.lockWaitMs ?? ttl);
    for (;;) {
      const ok = await this.redis.set(lockKey, token, 'PX', ttl, 'NX');
      if (ok === 'OK') break;
      if (Date.now() > deadline) throw new Error(`another sweep of ${dir} has held the lock too long`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, lockKey, token);
    }
  }
}
