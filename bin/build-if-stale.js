#!/usr/bin/env node
// dist/ (`npm run build`) in step with the sources: in a checkout, build when dist/ is missing or a source
// file is newer than the last build; where the package holds no sources (the container image, an installed
// copy) dist/ is what runs, as it is. `npm start`, `prepare` and bin/chatops.js call it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What the build reads. */
const SOURCES = [
  'src',
  'commands',
  'jobs',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/copy-remote.mjs',
];
/** Written by scripts/copy-remote.mjs as the build's last step. */
export const STAMP = join(root, 'dist', '.built');
const LOCK = join(root, 'dist', '.building');
const LOCK_STALE_MS = 5 * 60_000;

function newest(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

/** Why dist/ must be built, or null when it is current (or there is nothing to build it from). */
export function staleness() {
  if (!existsSync(join(root, 'src'))) return null;
  const built = statSync(STAMP, { throwIfNoEntry: false });
  if (!built) return 'dist/ has not been built';
  const src = Math.max(...SOURCES.map((p) => newest(join(root, p))));
  return src > built.mtimeMs ? 'a source file changed since the last build' : null;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Build if stale; returns false (having said why on stderr) when dist/ cannot run. One build at a time:
 * processes started together wait for the one that holds the lock, then find dist/ current.
 */
export function ensureBuilt() {
  let why = staleness();
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
    if (!existsSync(join(root, 'node_modules', 'typescript'))) {
      const usable = existsSync(join(root, 'dist', 'src', 'main.js'));
      process.stderr.write(
        `chatops: ${why}, and TypeScript is not installed to build it (npm install, then npm run build)` +
          (usable ? '; running the last build\n' : '\n'),
      );
      return usable;
    }
    process.stderr.write(`chatops: ${why}: building dist/ (npm run build) …\n`);
    // The build's output goes to stderr: a CLI's stdout carries only its answer.
    const r = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        stdio: ['ignore', 2, 2],
      },
    );
    const copied =
      r.status === 0 &&
      spawnSync(process.execPath, [join(root, 'scripts', 'copy-remote.mjs')], {
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
