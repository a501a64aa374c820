'use strict';
// Loads dist/src/cli.cjs, the CLI's single CommonJS bundle (scripts/build.mjs), through V8's code cache
// (cli.cjs.cache): with the cache, V8 reads the compiled code instead of parsing and compiling ~300 KB at
// every `chatops …`. The cache is used only when this Node.js (V8 version and flags) and the file match
// the ones that made it; otherwise V8 says so (rejected), compiles as usual, and saveCache() writes a new
// one for the next call. The wrapping is Node's own for CommonJS, so the bundle sees require, module,
// __filename and __dirname as any module does. scripts/build.mjs makes the first cache with this file.
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

/**
 * Compile and run the bundle at `file`: its exports, the script (for saveCache) and how the cache went:
 * `accepted`, `rejected` or `missing`.
 */
function loadBundle(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  // esbuild writes ASCII only (non-ASCII characters escaped), so latin1 reads it as utf8 would, for less.
  const script = new Script(Module.wrap(readFileSync(file, 'latin1')), {
    filename: file,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, dirname(file));
  const cache = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: module.exports, script, cache };
}

/**
 * Write the script's code cache beside the bundle, holding every function compiled so far. Written to a
 * temporary name and renamed, so a process starting meanwhile reads the old cache or the new, never half.
 * A read-only installation keeps no cache: the CLI still runs, compiling as it goes.
 */
function saveCache(script, file) {
  const tmp = `${file}.cache.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, `${file}.cache`);
    return true;
  } catch {
    return false;
  }
}

module.exports = { loadBundle, saveCache };
