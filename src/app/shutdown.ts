import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { PromMetrics } from '../ops/prom-metrics.js';
import type { ReadinessCheck } from '../ops/readiness.js';
import type { SlackBot } from '../slack/slack-bot.js';
import type { Runtime } from './runtime.js';

// The bounded graceful stop of the bot (SHUTDOWN_TIMEOUT_S). Steps run in order, each given the time left;
// when the budget is spent the process exits anyway, naming what was still open; a second signal exits at
// once. Upload jobs need nothing from a stop to stay resumable: a running one's data already holds its
// Slurm job id, so the next process adopts the run (jobs/upload-checkpoint.ts).

export interface ShutdownStep {
  readonly name: string;
  run(remainingMs: number): Promise<void>;
}

export interface ShutdownOptions {
  readonly log: Logger;
  readonly timeoutMs: number;
  readonly steps: readonly ShutdownStep[];
  readonly exit: (code: number) => void;
}

export interface Shutdown {
  /** Whether a stop has begun (readiness turns false). */
  readonly stopping: boolean;
  /** What a signal does: the first starts the stop, the second exits at once. */
  signal(name: NodeJS.Signals): void;
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function createShutdown(opts: ShutdownOptions): Shutdown {
  const { log } = opts;
  let stopping = false;
  const open = new Set(opts.steps.map((s) => s.name));
  const run = async (signal: NodeJS.Signals) => {
    const deadline = Date.now() + opts.timeoutMs;
    log.info({ signal, timeoutS: opts.timeoutMs / 1000 }, 'shutting down');
    const timer = setTimeout(() => {
      log.error(
        { open: [...open], timeoutS: opts.timeoutMs / 1000 },
        `shutdown did not finish within ${opts.timeoutMs / 1000} s (SHUTDOWN_TIMEOUT_S); exiting with ${[...open].join(', ')} still open`,
      );
      opts.exit(1);
    }, opts.timeoutMs);
    timer.unref();
    for (const step of opts.steps) {
      const t0 = Date.now();
      try {
        await step.run(Math.max(0, deadline - Date.now()));
      } catch (err) {
        log.warn({ err, step: step.name }, 'error while shutting down');
      }
      open.delete(step.name);
      log.info({ step: step.name, ms: Date.now() - t0 }, `stopped: ${step.name}`);
    }
    clearTimeout(timer);
    log.info({}, 'stopped');
    opts.exit(0);
  };
  return {
    get stopping() {
      return stopping;
    },
    signal(name) {
      if (stopping) {
        log.warn({ signal: name, open: [...open] }, 'second signal: exiting now');
        opts.exit(SIGNAL_EXIT[name] ?? 1);
        return;
      }
      stopping = true;
      void run(name);
    },
  };
}

/**
 * Wait until `count()` is 0: in-flight commands finishing their replies. No limit of its own: the stop's
 * deadline ends the wait (and names this step as open), since a reply is what someone is waiting on.
 */
export async function settled(count: () => number, pollMs = 50): Promise<void> {
  while (count() > 0) await new Promise((r) => setTimeout(r, pollMs));
}

export interface BotShutdown extends Shutdown {
  /** Fails from the first signal on, so a load balancer stops sending work to a process that is stopping. */
  readonly readiness: ReadinessCheck;
  /** The very last step (the ops server, so /healthz answers while the rest stops). */
  closeLast(close: () => Promise<void>): void;
}

/**
 * The bot's stop, in order: no cron ticks; no Slack intake (queued Slack messages still go out); the
 * commands in flight finish; the workers get the time left to finish their jobs (a job still running stays
 * active in Redis and the next process resumes it); then queues, Redis and the SSH connection close.
 */
export function botShutdown(o: {
  readonly config: Pick<Config, 'SHUTDOWN_TIMEOUT_S'>;
  readonly log: Logger;
  readonly runtime: Pick<Runtime, 'stopIntake' | 'close'>;
  readonly bot: Pick<SlackBot, 'stop'>;
  readonly metrics: Pick<PromMetrics, 'inFlight'>;
  readonly exit: (code: number) => void;
}): BotShutdown {
  let last: () => Promise<void> = async () => {};
  const shutdown = createShutdown({
    log: o.log,
    timeoutMs: Math.round(o.config.SHUTDOWN_TIMEOUT_S * 1000),
    exit: o.exit,
    steps: [
      { name: 'cron', run: () => o.runtime.stopIntake() },
      { name: 'Slack intake', run: () => o.bot.stop() },
      { name: 'commands in flight', run: () => settled(o.metrics.inFlight) },
      { name: 'workers, queues, Redis and SSH', run: () => o.runtime.close() },
      { name: 'ops server', run: () => last() },
    ],
  });
  return {
    get stopping() {
      return shutdown.stopping;
    },
    signal: (name) => shutdown.signal(name),
    readiness: {
      name: 'shutdown',
      check: async () =>
        shutdown.stopping ? { ok: false, reason: 'shutting down' } : { ok: true, reason: 'running' },
    },
    closeLast(close) {
      last = close;
    },
  };
}
