import { createRequire } from 'node:module';
import type * as NodeCron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from './logger.js';

// The only importer of node-cron. A tick never does the work itself: it enqueues a BullMQ job whose id names
// the period, so every replica's tick for the same period collapses into one job, and the work survives a
// restart. Ticks of one schedule never overlap in a process (noOverlap). Across processes a coordinator
// (a Redis lock per scheduled slot) lets exactly one replica tick; the job id and the handlers' own
// markers stay as the second guard.

export interface CronSchedule {
  /** Unique; used in logs. */
  readonly name: string;
  /** Five or six fields (node-cron: an optional leading seconds field). */
  readonly expression: string;
  /**
   * Enqueue the period's job. `firedAt` is the slot the schedule matched (whole seconds), the same on every
   * replica whatever its timer's lateness; for `fire()`, the time given. Errors are logged, never thrown.
   */
  tick(firedAt: Date): Promise<void>;
}

/** Elects one process per scheduled slot. `key` names the schedule and the slot (`digest:2026-11-28T09:00:00.000Z`). */
export interface CronCoordinator {
  /** True for exactly one caller of `key` until `ttlMs` has passed (Redis `SET … NX PX`). */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * How long a slot's election is remembered: longer than any clock skew between replicas or timer lateness,
 * so a replica ticking late for the same slot still loses.
 */
export const CRON_SLOT_LEASE_MS = 10 * 60_000;

export class CronExpressionError extends Error {
  override readonly name = 'CronExpressionError';
}

export interface Scheduler {
  stop(): Promise<void>;
  /** Run one schedule's tick now (startup catch-up, tests, `/digest` from an operator). */
  fire(name: string, at?: Date): Promise<void>;
}

// Loaded by the first scheduler: a CLI command builds the digest feature but never starts its schedules.
const loadCron = (): typeof NodeCron.default =>
  (createRequire(import.meta.url)('node-cron') as typeof NodeCron).default;

export function startScheduler(
  schedules: readonly CronSchedule[],
  opts: {
    readonly timezone: string;
    readonly log: Logger;
    readonly now?: () => Date;
    /** Replicas on one Redis: one of them ticks per slot. Without it, every process ticks. */
    readonly coordinator?: CronCoordinator;
  },
): Scheduler {
  const cron = loadCron();
  for (const s of schedules) {
    if (!cron.validate(s.expression)) {
      throw new CronExpressionError(
        `${s.name}: "${s.expression}" is not a valid cron expression (five fields, e.g. "0 9 * * *" for 09:00 daily)`,
      );
    }
  }
  const now = opts.now ?? (() => new Date());
  const byName = new Map(schedules.map((s) => [s.name, s]));
  const run = async (s: CronSchedule, at: Date) => {
    try {
      await s.tick(at);
    } catch (err) {
      opts.log.error({ err, schedule: s.name }, 'cron tick failed');
    }
  };
  const coordinator = opts.coordinator;
  const tasks: ScheduledTask[] = schedules.map((s) =>
    cron.schedule(s.expression, (ctx) => run(s, ctx.date), {
      name: s.name,
      timezone: opts.timezone,
      noOverlap: true,
      ...(coordinator
        ? {
            distributed: true,
            distributedLease: CRON_SLOT_LEASE_MS,
            // node-cron calls this with `<name>:<slot ISO>` before each scheduled run; a throw skips the
            // slot (fail-closed: a replica that cannot reach Redis leaves the slot to the others).
            runCoordinator: { shouldRun: (key: string, ttlMs: number) => coordinator.claim(key, ttlMs) },
          }
        : {}),
    }),
  );
  opts.log.info(
    { schedules: schedules.map((s) => `${s.name}=${s.expression}`), tz: opts.timezone },
    'cron started',
  );
  return {
    async stop() {
      for (const t of tasks) {
        await t.stop();
        await t.destroy();
      }
    },
    async fire(name, at = now()) {
      const s = byName.get(name);
      if (!s) throw new Error(`no schedule named ${name}`);
      await run(s, at);
    },
  };
}

/** `2026-11-28` for the calendar day of `at` in `timezone`. */
export function localDate(at: Date, timezone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/**
 * The BullMQ job id for a period. BullMQ 5.81 refuses custom ids containing ':' (unless split into exactly 3
 * parts, a legacy repeatable-job format) and integer ids, so `digest-2026-11-28`, not `digest:2026-11-28`.
 */
export function periodJobId(kind: string, day: string): string {
  return `${kind}-${day}`;
}
