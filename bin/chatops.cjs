#!/usr/bin/env node
'use strict';
// `chatops …`: the compiled CLI, dist/src/cli.cjs (one CommonJS bundle of src/main.ts's cliMain, loaded
// through its code cache by load-bundle.cjs). CommonJS on purpose: a command's whole start is
// synchronous file reads, with none of the ES module loader's per-module resolution. In a checkout,
// dist/ is rebuilt first when a source changed: only a current build is ever run.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { ensureBuilt, staleness } = require('./build-if-stale.cjs');
const { loadBundle, saveCache } = require('./load-bundle.cjs');

// `chatops help | head`: a reader that has read enough closes the pipe; that ends the command, quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const BUNDLE = join(__dirname, '..', 'dist', 'src', 'cli.cjs');

const fail = (err) => {
  process.stderr.write(`chatops: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
};

async function run() {
  const why = staleness();
  if (why !== null && !ensureBuilt(why)) {
    process.exitCode = 1;
    return;
  }
  if (!existsSync(BUNDLE)) {
    process.stderr.write(`chatops: ${BUNDLE} is missing: build it (npm run build)\n`);
    process.exitCode = 1;
    return;
  }
  const bundle = loadBundle(BUNDLE);
  process.exitCode = await bundle.exports.cliMain({
    argv: process.argv.slice(2),
    env: process.env,
    // Read by the console only: a one-shot command does not create the stream (a pipe's is a socket).
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  });
  // A new Node.js (or a cache lost): the next call starts from what this one compiled.
  if (bundle.cache !== 'accepted') saveCache(bundle.script, BUNDLE);
}

run().catch(fail);
