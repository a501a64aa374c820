#!/usr/bin/env node
// `chatops …`: the compiled CLI (dist/). In a checkout, dist/ is rebuilt first when a source file is newer.
import { ensureBuilt } from './build-if-stale.js';

if (ensureBuilt()) {
  try {
    const { cliMain } = await import('../dist/src/main.js');
    process.exitCode = await cliMain({
      argv: process.argv.slice(2),
      env: process.env,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (err) {
    process.stderr.write(`chatops: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
} else {
  process.exitCode = 1;
}
