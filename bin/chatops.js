#!/usr/bin/env node
// `chatops …`: the compiled CLI (dist/). In a checkout, dist/ is rebuilt first when a source file is newer.
// The check walks the sources once dist/'s entry has started to load (its files are read meanwhile; loading
// runs none of the CLI): only a current build is ever run, and a stale one is built, then loaded afresh.
import { ensureBuilt, staleness } from './build-if-stale.js';

// `chatops help | head`: a reader that has read enough closes the pipe; that ends the command, quietly.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const entry = new URL('../dist/src/main.js', import.meta.url).href;
const loading = import(entry).then(
  (m) => m,
  () => null,
);
const why = staleness();
const loaded = await loading;
let main = why === null ? loaded : null;
if (why !== null || main === null) {
  if (!ensureBuilt(why ?? undefined)) {
    process.exitCode = 1;
  } else {
    // A new URL: the module map still holds the stale entry under the old one (its chunks are new files).
    main = await import(`${entry}?built=${Date.now()}`).catch((err) => {
      process.stderr.write(`chatops: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
      return null;
    });
  }
}
if (main) {
  try {
    process.exitCode = await main.cliMain({
      argv: process.argv.slice(2),
      env: process.env,
      // Read by the console only: a one-shot command does not create the stream (a pipe's is a socket).
      get stdin() {
        return process.stdin;
      },
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (err) {
    process.stderr.write(`chatops: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
