import { appendFileSync, readFileSync } from 'node:fs';

// Names every npm package a module resolution reaches: one loaded from node_modules, or one compiled into
// a chunk of the production bundle (dist/src/, whose dist/meta.json says what each chunk holds). zod is
// beside the bundle (dist/src/vendor/zod.cjs, compiled from its code cache): the chunk of its loader,
// scripts/build/zod-from-cache.mjs, names it.
const out = process.env.RECORD_PACKAGES;
const PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;
let bundled;

function packagesInChunk(url) {
  const m = /^file:\/\/(.*)\/dist\/src\/([^/?]+\.js)/.exec(url);
  if (!m) return [];
  bundled ??= JSON.parse(readFileSync(`${m[1]}/dist/meta.json`, 'utf8')).outputs;
  const output = Object.entries(bundled).find(([path]) => path.endsWith(`dist/src/${m[2]}`))?.[1];
  const names = Object.entries(output?.inputs ?? {})
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([path]) => (path.endsWith('scripts/build/zod-from-cache.mjs') ? 'zod' : PACKAGE.exec(path)?.[1]))
    .filter(Boolean);
  return [...new Set(names)];
}

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (!out) return r;
  const m = PACKAGE.exec(r.url);
  const names = m ? [m[1]] : packagesInChunk(r.url);
  if (names.length > 0) appendFileSync(out, `${names.join('\n')}\n`);
  return r;
}
