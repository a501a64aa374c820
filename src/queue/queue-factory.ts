import { setMaxListeners } from 'node:events';
import type { ConnectionOptions, Job, JobsOptions, Queue, QueueEvents, Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmq } from './load-queue-libraries.js';
import { createRedisConnection, type RedisRole } from './redis-connection.js';

export interface QueueFactoryOptions {
  readonly redisUrl: string;
  /** BullMQ key prefix. Production uses one fixed prefix; each test uses its own random one. */
  readonly prefix: string;
  /**
   * Called with worker/queue errors (a BullMQ object without an 'error' listener crashes the process),
   * except a lost connection's: every client reports those, dozens a second while Redis is away.
   */
  readonly onError?: (err: Error, source: string) => void;
  /** Redis went away (the first client to notice), or came back (the last one to reconnect). */
  readonly onConnection?: (change: RedisConnectionChange) => void;
}

export type RedisConnectionChange =
  | { readonly state: 'lost'; readonly err: Error }
  | { readonly state: 'back'; readonly downMs: number };

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** An error that says the connection is gone, not that a command was wrong. */
export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return /Connection is closed|connect ETIMEDOUT|Stream isn't writeable|MaxRetriesPerRequestError/i.test(
    `${err.name} ${err.message}`,
  );
}

export type WorkerSettings = Omit<WorkerOptions, 'connection' | 'prefix' | 'autorun'>;

interface Closable {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Owns every Redis connection, queue and worker it creates, and closes them in the right order: workers
 * first (so no job is half-started), then queues and event streams, then the connections.
 * One per process, built by the wiring in src/app/runtime.ts; tests build one per test with a unique prefix.
 */
export class QueueFactory {
  private readonly workers: RunningWorker[] = [];
  private readonly others: Closable[] = [];
  private readonly connections: Redis[] = [];
  private readonly queues = new Map<string, Queue>();
  private closed = false;
  /** Our clients whose connection is down; Redis counts as lost while any is. */
  private readonly down = new Set<Redis>();
  private lostAt = 0;

  constructor(private readonly opts: QueueFactoryOptions) {}

  get prefix(): string {
    return this.opts.prefix;
  }

  /** A plain Redis client for your own keys (locks, counters). Prefix your keys with `keyPrefix()`. */
  redis(role: RedisRole = 'command'): Redis {
    this.assertOpen();
    const r = createRedisConnection(this.opts.redisUrl, role);
    r.on('error', (err) => this.error(err, 'redis', r));
    r.on('ready', () => this.reconnected(r));
    // Closed for good (quit, or no more retries): it no longer holds "lost" open.
    r.on('end', () => this.reconnected(r));
    this.connections.push(r);
    return r;
  }

  private error(err: Error, source: string, client?: Redis): void {
    if (!isConnectionError(err)) {
      this.opts.onError?.(err, source);
      return;
    }
    if (!client) return;
    const wasUp = this.down.size === 0;
    this.down.add(client);
    if (wasUp && !this.closed) {
      this.lostAt = Date.now();
      this.opts.onConnection?.({ state: 'lost', err });
    }
  }

  private reconnected(client: Redis): void {
    if (!this.down.delete(client) || this.down.size > 0 || this.closed) return;
    this.opts.onConnection?.({ state: 'back', downMs: Date.now() - this.lostAt });
  }

  /** `<prefix>:<name>:` — a namespace for non-BullMQ keys that lives and dies with the queue's prefix. */
  keyPrefix(name: string): string {
    return `${this.opts.prefix}:${name}:`;
  }

  /** One Queue per name per factory (producers share it). */
  queue<D = unknown, R = unknown>(name: string, defaultJobOptions?: JobsOptions): Queue<D, R> {
    this.assertOpen();
    const existing = this.queues.get(name);
    if (existing) return existing as unknown as Queue<D, R>;
    const q = new (bullmq().Queue)<D, R>(name, {
      connection: this.redis('command') as ConnectionOptions,
      prefix: this.opts.prefix,
      ...(defaultJobOptions ? { defaultJobOptions } : {}),
    });
    q.on('error', (err) => this.error(err, `queue ${name}`));
    this.queues.set(name, q as unknown as Queue);
    this.others.push(q);
    return q;
  }

  queueEvents(name: string): QueueEvents {
    this.assertOpen();
    const ev = new (bullmq().QueueEvents)(name, {
      connection: this.redis('blocking') as ConnectionOptions,
      prefix: this.opts.prefix,
    });
    ev.on('error', (err) => this.error(err, `events ${name}`));
    this.others.push(ev);
    return ev;
  }

  /** Start a worker. Its connection is a blocking one (`maxRetriesPerRequest: null`). */
  worker<D = unknown, R = unknown>(
    name: string,
    processor: ShutdownAwareProcessor<D, R>,
    settings: WorkerSettings = {},
  ): RunningWorker<D, R> {
    this.assertOpen();
    const shutdown = new AbortController();
    // Every job waiting on a pipeline listens to it: many listeners is normal, not a leak.
    setMaxListeners(0, shutdown.signal);
    const w = new (bullmq().Worker)<D, R>(name, (job, token) => processor(job, token, shutdown.signal), {
      ...settings,
      connection: this.redis('blocking') as ConnectionOptions,
      prefix: this.opts.prefix,
      autorun: true,
    });
    w.on('error', (err) => this.error(err, `worker ${name}`));
    const running = new RunningWorker<D, R>(w, shutdown);
    this.workers.push(running as unknown as RunningWorker);
    return running;
  }

  /**
   * Graceful shutdown: workers get `graceMs` to finish active jobs, then are force-closed — their jobs stay
   * active with expiring locks, and BullMQ's stalled-job check hands them to the next worker, which must
   * resume them idempotently.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.close(graceMs)));
    // A Queue on a shared connection that is closed mid-handshake re-emits the handshake's failure after
    // close() has removed its listeners, which crashes the process: let the handshake settle first.
    await Promise.allSettled(
      this.others.map(async (o) => {
        await o.waitUntilReady().catch(() => undefined);
        await o.close();
      }),
    );
    await Promise.allSettled(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('QueueFactory is closed');
  }
}

/**
 * A processor that also gets a shutdown signal. When it fires, the worker is gone: stop waiting, touch
 * nothing, and never settle (settling would record a result through closed connections). The job stays
 * active, its lock expires, and another worker resumes it.
 */
export type ShutdownAwareProcessor<D, R> = (
  job: Job<D, R>,
  token: string | undefined,
  shutdown: AbortSignal,
) => Promise<R>;

export class RunningWorker<D = unknown, R = unknown> {
  private closing: Promise<void> | null = null;
  constructor(
    readonly worker: Worker<D, R>,
    private readonly shutdown: AbortController,
  ) {}

  /** Stop taking jobs; wait up to graceMs for active ones, then force. Safe to call twice. */
  close(graceMs = 10_000): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        let timer: NodeJS.Timeout | undefined;
        // pause(false) stops fetching and resolves when active jobs are done; close(false) would do the same
        // but could not be turned into a forced close afterwards.
        const drained = this.worker.pause(false).then(() => 'drained' as const);
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const r = await Promise.race([drained, timedOut]);
        clearTimeout(timer);
        await this.worker.close(r === 'timeout');
        this.shutdown.abort(new Error('worker shut down'));
      })();
    }
    return this.closing;
  }

  /** Simulates a crash for tests: drop everything at once, no grace. */
  kill(): Promise<void> {
    return this.close(0);
  }
}
