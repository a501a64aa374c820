// Bundled in place of `import { z } from 'zod'` by scripts/build.mjs (it lives in a chunk in dist/src/).
// zod is most of what every command loads, and compiling its ~400 KB is most of a CLI call's own time; a
// V8 code cache made at build time (scripts/build.mjs, the same wrapping as here) skips that. The cache is used only when this Node.js (V8 version and
// flags) and the file match the ones that made it; otherwise V8 rejects it and compiles as usual.
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

const file = join(import.meta.dirname, 'vendor', 'zod.cjs');
let cachedData;
try {
  cachedData = readFileSync(`${file}.cache`);
} catch {
  cachedData = undefined;
}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, Module.createRequire(file), module, file, join(file, '..'));

export const z = module.exports.z;
