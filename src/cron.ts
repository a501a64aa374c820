import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from './logger.js';

// The only importer of node-cron. A tick never does the work itself: it enqueues a BullMQ job whose id names
// the period, so every replica's tick for the same period collapses into one job, and the work survives a
// restart. Ticks of one schedule never overlap in a process (noOverlap); across processes the job id and
// the handlers' own locks do it.

export interface CronSchedule {
  /** Unique; used in logs. */
  readonly name: string;
  /** Five or six fields (node-cron: an optional leading seconds field). */
  readonly expression: string;
  /** Enqueue the period's job. `firedAt` is when the tick fired. Errors are logged, never thrown. */
  tick(firedAt: Date): Promise<void>;
}

export class CronExpressionError extends Error {
  override readonly name = 'CronExpressionError';
}

export interface Scheduler {
  stop(): Promise<void>;
  /** Run one schedule's tick now (startup catch-up, tests, `/digest` from an operator). */
  fire(name: string, at?: Date): Promise<void>;
}

export function startScheduler(
  schedules: readonly CronSchedule[],
  opts: { readonly timezone: string; readonly log: Logger; readonly now?: () => Date },
): Scheduler {
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
  const tasks: ScheduledTask[] = schedules.map((s) =>
    cron.schedule(s.expression, () => run(s, now()), {
      name: s.name,
      timezone: opts.timezone,
      noOverlap: true,
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
