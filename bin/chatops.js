#!/usr/bin/env node
// `npx chatops …` without a build step: register tsx's ESM loader, then run the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
try {
  const { cliMain } = await import('../src/main.ts');
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
