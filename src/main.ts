import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliEnvironment } from './app/cli.js';
import type { DemoEnvironment } from './app/demo.js';

// The composition root: it reads the process's environment once and decides what talks to what. The Slack bot
// starts here (`npm start`: node dist/src/main.js); the CLI (`chatops`, bin/chatops.cjs) enters through cliMain
// and the demo (`npm run demo`, scripts/demo.ts) through demoMain, both wired in src/app. Each path imports
// its modules when it is taken (this file imports none of them statically), so the CLI never loads Slack's
// and a settings error stops the bot at once.

export async function cliMain(e: CliEnvironment): Promise<number> {
  return (await import('./app/cli.js')).cliMain(e);
}

export async function demoMain(e: DemoEnvironment): Promise<number> {
  return (await import('./app/demo.js')).demoMain(e);
}

export async function main(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  return (await import('./app/bot.js')).botMain(env);
}

// The bot starts when this file is the program. The CLI's bundle (scripts/build.mjs) defines CLI_BUNDLE, so
// there the test is false at build time and the bot's code, reached from here only, is left out of it.
declare const CLI_BUNDLE: true | undefined;
if (
  typeof CLI_BUNDLE === 'undefined' &&
  process.argv[1] &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
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
