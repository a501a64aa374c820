#!/usr/bin/env node
// dist/ (`npm run build`) in step with the sources: in a checkout, build when dist/ is missing or a source
// file is newer than the last build; where the package holds no sources (the container image, an installed
// copy) dist/ is what runs, as it is. `npm start`, `prepare` and bin/chatops.js call it.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What the build reads. */
const SOURCES = ['src', 'commands', 'jobs', 'package.json', 'scripts/build.mjs', 'scripts/build'];
/** Written by scripts/build.mjs as the build's last step. */
export const STAMP = join(root, 'dist', '.built');
const LOCK = join(root, 'dist', '.building');
const LOCK_STALE_MS = 5 * 60_000;

// Every CLI call in a checkout pays for this walk, so it is lean: synchronous (the thread has nothing else
// to do meanwhile that would not wait for its verdict), paths joined by hand, directory entries saying
// which names are directories, and it stops at the first entry newer than the build.
function newerThan(path, built) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return false;
  if (st.mtimeMs > built) return true;
  if (!st.isDirectory()) return false;
  return entriesNewerThan(path, built);
}

function entriesNewerThan(dir, built) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    // A dangling link counts as nothing, as a missing source does.
    if ((statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0) > built) return true;
    if (e.isDirectory() && entriesNewerThan(path, built)) return true;
  }
  return false;
}

/** Why dist/ must be built, or null when it is current (or there is nothing to build it from). */
export function staleness() {
  if (!existsSync(join(root, 'src'))) return null;
  const built = statSync(STAMP, { throwIfNoEntry: false });
  if (!built) return 'dist/ has not been built';
  return SOURCES.some((p) => newerThan(join(root, p), built.mtimeMs))
    ? 'a source file changed since the last build'
    : null;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Build if stale; returns false (having said why on stderr) when dist/ cannot run. One build at a time:
 * processes started together wait for the one that holds the lock, then find dist/ current. `knownStale`:
 * a reason staleness() already gave (checked again under the lock).
 */
export function ensureBuilt(knownStale) {
  let why = knownStale ?? staleness();
  if (why === null) return true;
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    why = staleness();
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
    // Loaded only to build: a current dist/ costs the CLI nothing but the walk above.
    const { spawnSync } = createRequire(import.meta.url)('node:child_process');
    // The build's output goes to stderr: a CLI's stdout carries only its answer.
    const copied =
      spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
        cwd: root,
        stdio: ['ignore', 2, 2],
      }).status === 0;
    if (!copied) process.stderr.write('chatops: the build failed (see above); fix it, then npm run build\n');
    return copied;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = ensureBuilt() ? 0 : 1;
}
