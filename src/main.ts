import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliEnvironment } from './app/cli.js';
import type { DemoEnvironment } from './app/demo.js';
import { readEnv } from './app/read-env.js';
import { AuditLog } from './audit.js';
import { type Config, ConfigError, loadConfig, missingSlackSettings } from './config.js';
import { createLogger } from './logger.js';
import type { SlackMessenger } from './slack/slack-messenger.js';

// The composition root: it reads the process's environment once and decides what talks to what. The Slack bot
// starts here (`npm start`: node dist/src/main.js); the CLI (`chatops`, bin/chatops.js) enters through cliMain
// and the demo (`npm run demo`, scripts/demo.ts) through demoMain, both wired in src/app. Each path imports
// its modules when it is taken, so the CLI never loads Slack's and a settings error stops the bot at once.

export async function cliMain(e: CliEnvironment): Promise<number> {
  return (await import('./app/cli.js')).cliMain(e);
}

export async function demoMain(e: DemoEnvironment): Promise<number> {
  return (await import('./app/demo.js')).demoMain(e);
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

  const [{ createRegistry }, { buildRuntime }, { createSlackMessenger }, { createSlackBot }] =
    await Promise.all([
      import('../commands/index.js'),
      import('./app/runtime.js'),
      import('./slack/create-slack-messenger.js'),
      import('./slack/slack-bot.js'),
    ]);
  // The messenger with the runtime's Redis, before any feature: every feature is given it when built.
  let messenger: SlackMessenger | undefined;
  const runtime = await buildRuntime(config, log, audit, {
    messenger: (shared) => {
      messenger = createSlackMessenger(config, log.child({ component: 'slack' }), shared);
      return messenger;
    },
  });
  if (!messenger) throw new Error('the runtime did not build the Slack messenger');
  const bot = createSlackBot({
    config,
    log,
    messenger,
    deps: { registry: createRegistry(), services: runtime.services, config, audit, log },
  });
  await runtime.start();

  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Stop taking commands first, let queued Slack messages go out, then stop workers, then connections.
    await bot.stop();
    await runtime.close();
    log.info('stopped');
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('uncaughtException', (err) => {
    // Fatal (see the unhandledRejection handler above): stop in order, exit 1, and never hang doing it.
    log.fatal({ err }, 'uncaught exception: stopping');
    setTimeout(() => process.exit(1), 10_000).unref();
    void shutdown('uncaughtException', 1);
  });

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
