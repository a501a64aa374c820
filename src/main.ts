import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRegistry } from '../commands/index.js';
import { buildRuntime, readEnv } from './app/runtime.js';
import { AuditLog } from './audit.js';
import { type Config, ConfigError, loadConfig, missingSlackSettings } from './config.js';
import { createLogger } from './logger.js';
import { createSlackMessenger } from './slack/create-slack-messenger.js';
import { createSlackBot } from './slack/slack-bot.js';

// The composition root: it reads the process's environment once and decides what talks to what. The Slack bot
// starts here (`npm start`); the CLI (`chatops`, bin/chatops.js) enters through cliMain and the demo
// (`npm run demo`, scripts/demo.ts) through demoMain, both wired in src/app.

export { cliMain } from './app/cli.js';
export { demoMain } from './app/demo.js';

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

  // The messenger first: every feature is given it when built, so nothing is attached later.
  const messenger = createSlackMessenger(config, log.child({ component: 'slack' }));
  const runtime = await buildRuntime(config, log, audit, { messenger });
  const bot = createSlackBot({
    config,
    log,
    messenger,
    actionDedupe: runtime.actionDedupe,
    deps: { registry: createRegistry(), services: runtime.services, config, audit, log },
  });
  await runtime.start();

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
