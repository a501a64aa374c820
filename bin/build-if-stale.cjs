#!/usr/bin/env node
'use strict';
// dist/ (`npm run build`) in step with the sources: in a checkout, build when dist/ is missing or a source
// has changed since the last build; where the package holds no sources (the container image, an installed
// copy) dist/ is what runs, as it is. `npm start`, `prepare` and bin/chatops.cjs call it.
//
// The build writes dist/.built last: when it started, and every source file and directory it read. A
// source is changed when its modification time is later than that start. Edits in place change a file's
// time; a file added, removed or renamed (editors that save by renaming included) changes its directory's.
// So the check is one stat per listed path and reads no directory: every CLI call in a checkout pays for it.
const { existsSync, mkdirSync, readFileSync, rmSync, statSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
/** What the build reads: scripts/build.mjs lists every file and directory under these in dist/.built. */
const SOURCES = ['src', 'commands', 'jobs', 'package.json', 'scripts/build.mjs'];
const LOCK_STALE_MS = 5 * 60_000;

const stampPath = (root) => join(root, 'dist', '.built');

/**
 * What the last build recorded (dist/.built), or the reason dist/ must be built. A checkout is a root
 * with src/; null means there is nothing to build from.
 */
function readStamp(root) {
  if (!existsSync(join(root, 'src'))) return null;
  let text;
  try {
    text = readFileSync(stampPath(root), 'utf8');
  } catch {
    return 'dist/ has not been built';
  }
  try {
    const stamp = JSON.parse(text);
    if (typeof stamp.startedAt === 'number' && Array.isArray(stamp.paths)) return stamp;
  } catch {
    // An older build's plain timestamp: rebuilt below.
  }
  return 'dist/ was built without its list of sources';
}

const CHANGED = 'a source file changed since the last build';

/**
 * Why dist/ must be built, or null when it is current (or there is nothing to build it from). Synchronous:
 * in a fresh process, 240 statSync calls take a few milliseconds, and the same stats through fs/promises
 * (to overlap them with loading the bundle) cost the main thread more than that to issue.
 */
function staleness(root = ROOT) {
  const stamp = readStamp(root);
  if (stamp === null || typeof stamp === 'string') return stamp;
  for (const p of stamp.paths) {
    const st = statSync(`${root}/${p}`, { throwIfNoEntry: false });
    if (!st || st.mtimeMs > stamp.startedAt) return CHANGED;
  }
  return null;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Build if stale; returns false (having said why on stderr) when dist/ cannot run. One build at a time:
 * processes started together wait for the one that holds the lock, then find dist/ current. `knownStale`:
 * a reason staleness() already gave (checked again under the lock).
 */
function ensureBuilt(knownStale, root = ROOT) {
  let why = knownStale ?? staleness(root);
  if (why === null) return true;
  const lock = join(root, 'dist', '.building');
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    why = staleness(root);
    if (why === null) return true;
    if (!existsSync(join(root, 'node_modules', 'esbuild'))) {
      const usable = existsSync(join(root, 'dist', 'src', 'main.js'));
      process.stderr.write(
        `chatops: ${why}, and esbuild is not installed to build it (npm install, then npm run build)` +
          (usable ? '; running the last build\n' : '\n'),
      );
      return usable;
    }
    process.stderr.write(`chatops: ${why}: building dist/ (npm run build) …\n`);
    // Loaded only to build: a current dist/ costs the CLI nothing but the stats above.
    const { spawnSync } = require('node:child_process');
    // The build's output goes to stderr: a CLI's stdout carries only its answer.
    const built =
      spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
        cwd: root,
        stdio: ['ignore', 2, 2],
      }).status === 0;
    if (!built) process.stderr.write('chatops: the build failed (see above); fix it, then npm run build\n');
    return built;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

module.exports = { SOURCES, staleness, ensureBuilt };

if (require.main === module) {
  process.exitCode = ensureBuilt() ? 0 : 1;
}
