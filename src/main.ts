import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';
import { createRegistry } from '../commands/index.js';
import type { Services } from '../commands/services.js';
import { AuditLog, type AuditSink, auditingTransport } from './audit.js';
import { createTransport, unconfiguredTransport } from './cluster/create-transport.js';
import { SlurmClient } from './cluster/slurm.js';
import type { Transport } from './cluster/transport.js';
import { type Config, ConfigError, loadConfig, missingSlackSettings } from './config.js';
import { limitedTransport } from './limited-transport.js';
import { createLogger, type Logger } from './logger.js';
import { createTrainRuntime, type TrainRuntime } from './neox/train-runtime.js';
import { createDigestRuntime, type DigestRuntime } from './pipeline/digest-runtime.js';
import { QueueFactory } from './queue/queue-factory.js';
import { createUploadRuntime, type UploadRuntime } from './queue/upload-runtime.js';
import { createSlackBot } from './slack/slack-bot.js';

// The composition root: the only place that reads the environment and decides what talks to what.
// buildRuntime() is shared with the CLI (src/cli/main.ts); main() adds the Slack bot and background work.

export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly audit: AuditSink;
  readonly services: Omit<Services, 'messenger'>;
  /** The training watch; main() starts it once the Slack messenger exists. */
  readonly train: TrainRuntime;
  /** The digest: cluster log source for commands; cron schedules once the Slack messenger exists. */
  readonly digest: DigestRuntime;
  /** Checkpoint uploads: the queue for commands; the worker starts once the Slack messenger exists. */
  readonly uploads: UploadRuntime;
  /** Close in reverse order of creation. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Extra environment for a local transport (the demo's SLURM_CONF). */
  readonly localEnv?: Readonly<Record<string, string>>;
  /** The CLI without cluster settings: cluster commands fail naming these, offline ones still run. */
  readonly clusterProblems?: readonly string[];
}

/** Config + `.env` (real environment variables win over the file). */
export function readEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd = process.cwd(),
): Record<string, string | undefined> {
  const file = resolve(cwd, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export async function buildRuntime(
  config: Config,
  log: Logger,
  audit: AuditSink,
  opts: RuntimeOptions = {},
): Promise<Runtime> {
  const closers: (() => Promise<void>)[] = [];
  // Every argv run on the cluster is attributed to the invocation that caused it (src/audit.ts).
  const raw: Transport =
    opts.clusterProblems && opts.clusterProblems.length > 0
      ? unconfiguredTransport(opts.clusterProblems)
      : createTransport(config, {
          logger: log.child({ component: 'transport' }),
          ...(opts.localEnv ? { localEnv: opts.localEnv } : {}),
        });
  // Bounded like the SSH transport's channels, so a burst of commands cannot flood the login node.
  const limited = limitedTransport(raw, config.SSH_MAX_CHANNELS);
  closers.push(() => limited.close());
  const transport = auditingTransport(limited);
  const slurm = new SlurmClient(transport);

  // ── /train (H-D): build train services here ──
  // The process's one QueueFactory (src/queue/README.md); it connects to Redis only when a queue is used.
  const queues = new QueueFactory({
    redisUrl: config.REDIS_URL,
    prefix: 'chatops',
    onError: (err, source) => log.warn({ err, source }, 'queue error'),
  });
  closers.push(() => queues.close());
  const train = createTrainRuntime({
    factory: queues,
    transport,
    slurm,
    config,
    log: log.child({ component: 'train' }),
  });
  closers.push(() => train.close());
  // ── /ckpt uploads (H-E): build queue producers here (push their close onto `closers`) ──
  const uploads = createUploadRuntime({
    factory: queues,
    transport,
    slurm,
    config,
    log: log.child({ component: 'uploads' }),
  });
  closers.push(() => uploads.close());
  // ── digest (H-F) ──
  const digest = createDigestRuntime({
    factory: queues,
    transport,
    slurm,
    config,
    log: log.child({ component: 'digest' }),
    train: train.services,
  });
  closers.push(() => digest.close());

  const services: Omit<Services, 'messenger'> = {
    transport,
    slurm,
    digest: digest.services,
    train: train.services,
    uploads: uploads.services,
  };
  return {
    config,
    log,
    audit,
    services,
    train,
    digest,
    uploads,
    async close() {
      for (const c of closers.reverse()) {
        await c().catch((err: unknown) => log.warn({ err }, 'error while shutting down'));
      }
    },
  };
}

export async function main(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(readEnv(env));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\nNothing was started. See .env.example for every setting.\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger({ level: config.LOG_LEVEL, pretty: process.stdout.isTTY === true });

  const missing = missingSlackSettings(config);
  if (missing.length > 0) {
    const mode =
      config.SLACK_MODE === 'socket' ? 'Socket Mode (SLACK_MODE=socket)' : 'HTTP mode (SLACK_MODE=http)';
    process.stderr.write(
      `Cannot start the Slack bot: ${mode} needs ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not set.\n` +
        'Create the app from manifest.yml and set them (README.md, "Creating the Slack app"; .env.example).\n' +
        'Without Slack, the same commands work from a terminal: npx chatops console   (or: npm run demo)\n',
    );
    return 1;
  }

  const audit = new AuditLog(config.AUDIT_LOG, log.child({ component: 'audit' }));
  try {
    await audit.open();
  } catch (e) {
    process.stderr.write(
      `Cannot write the audit log ${config.AUDIT_LOG}: ${(e as Error).message}\n` +
        'Set AUDIT_LOG to a writable file path. Nothing was started.\n',
    );
    return 2;
  }

  const runtime = await buildRuntime(config, log, audit);
  const bot = createSlackBot({
    config,
    log,
    deps: { registry: createRegistry(), services: runtime.services, config, audit, log },
  });
  // ── background work (H-D monitors, H-E upload workers, H-F cron) starts here, given bot.messenger ──
  runtime.train.start(bot.messenger);
  runtime.digest.start(bot.messenger);
  await runtime.uploads.start(bot.messenger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop taking commands first, let queued Slack messages go out, then stop workers, then connections.
    await bot.stop();
    await runtime.close();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await bot.start();
  } catch (err) {
    log.fatal({ err }, 'the Slack bot could not start');
    await runtime.close();
    return 1;
  }
  return -1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.env).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
