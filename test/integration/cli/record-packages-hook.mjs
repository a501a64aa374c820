import { appendFileSync, readFileSync } from 'node:fs';

// Names every npm package an ES module resolution reaches: one loaded from node_modules, or one compiled
// into a chunk of the bot's bundle (dist/src/, whose dist/meta.json says what each chunk holds).
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
    .map(([path]) => PACKAGE.exec(path)?.[1])
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
