import { AuditLog } from '../audit.js';
import { type Config, ConfigError, loadConfig, missingSlackSettings } from '../config.js';
import { createLogger } from '../logger.js';
import type { ReadinessCheck } from '../ops/readiness.js';
import type { SlackMessenger } from '../slack/slack-messenger.js';
import { readEnv } from './read-env.js';

// The Slack bot (`npm start`, src/main.ts's main): settings, the audit log, Redis, the runtime, the ops
// server, then Slack. A settings error stops it before anything starts.

export async function botMain(env: Readonly<Record<string, string | undefined>>): Promise<number> {
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
  // What is fatal. A rejected promise nobody awaited means one operation failed after its caller moved on (a
  // library's reconnect, a fire-and-forget post): the process itself is sound, so it is logged and the bot
  // goes on, where Node's default would exit with code 1. A synchronous throw nobody caught may have left
  // state half-changed: that stops the bot in order and exits 1 (uncaughtException below).
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (logged, not fatal)');
  });

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

  const [
    { createRegistry },
    { buildRuntime },
    { createSlackMessenger },
    { createSlackBot },
    { checkRedisAtStart, startOps },
    { botShutdown },
    { createPromMetrics },
  ] = await Promise.all([
    import('../../commands/index.js'),
    import('./runtime.js'),
    import('../slack/create-slack-messenger.js'),
    import('../slack/slack-bot.js'),
    import('./ops.js'),
    import('./shutdown.js'),
    import('../ops/prom-metrics.js'),
  ]);
  // BullMQ cannot run on a Redis that evicts keys: refuse before anything starts (src/app/ops.ts).
  const redisProblems = await checkRedisAtStart(config.REDIS_URL, log.child({ component: 'ops' }));
  if (redisProblems.length > 0) {
    process.stderr.write(`${redisProblems.join('\n')}\nNothing was started.\n`);
    return 2;
  }
  // Every room records into the one Prometheus registry, served with readiness by the ops server.
  const metrics = createPromMetrics();

  // The messenger with the runtime's Redis, before any feature: every feature is given it when built.
  let messenger: SlackMessenger | undefined;
  const runtime = await buildRuntime(config, log, audit, {
    messenger: (shared) => {
      messenger = createSlackMessenger(config, log.child({ component: 'slack' }), { ...shared, metrics });
      return messenger;
    },
    metrics,
  });
  if (!messenger) throw new Error('the runtime did not build the Slack messenger');
  metrics.addGauges(runtime.gauges);
  const bot = createSlackBot({
    config,
    log,
    messenger,
    actionDedupe: runtime.actionDedupe,
    deps: { registry: createRegistry(), services: runtime.services, config, audit, log, metrics },
  });

  // Stop in order within SHUTDOWN_TIMEOUT_S: cron, Slack intake, in-flight commands, workers, Redis and SSH
  // (src/app/shutdown.ts); a second signal exits at once.
  let fatal = false;
  const shutdown = botShutdown({
    config,
    log,
    runtime,
    bot,
    metrics,
    exit: (code) => process.exit(fatal ? 1 : code),
  });
  const slack: ReadinessCheck = {
    name: 'slack',
    async check() {
      const c = bot.connection();
      return { ok: c.connected, reason: c.detail };
    },
  };
  const checks = [...runtime.checks, slack, shutdown.readiness];
  let ops: Awaited<ReturnType<typeof startOps>>;
  try {
    ops = await startOps(config, metrics, checks, log.child({ component: 'ops' }));
  } catch (err) {
    log.fatal(
      { err, port: config.OPS_PORT },
      'the ops server could not start (OPS_PORT / OPS_HOST; 0 = off)',
    );
    await runtime.close();
    return 1;
  }
  shutdown.closeLast(() => ops?.close() ?? Promise.resolve());
  process.on('SIGTERM', () => shutdown.signal('SIGTERM'));
  process.on('SIGINT', () => shutdown.signal('SIGINT'));
  process.once('uncaughtException', (err) => {
    // Fatal (see the unhandledRejection handler above): stop in order, exit 1, and never hang doing it.
    log.fatal({ err }, 'uncaught exception: stopping');
    fatal = true;
    shutdown.signal('SIGTERM');
  });
  await runtime.start();

  try {
    await bot.start();
  } catch (err) {
    log.fatal({ err }, 'the Slack bot could not start');
    await runtime.close();
    await ops?.close();
    return 1;
  }
  return -1;
}
