#!/usr/bin/env node
// `npx chatops …` without a build step: register tsx's ESM loader, then run the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
const { cliMain } = await import('../src/app/cli.ts');
const code = await cliMain({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exitCode = code;
