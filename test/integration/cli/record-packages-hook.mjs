import { appendFileSync } from 'node:fs';

const out = process.env.RECORD_PACKAGES;

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(r.url);
  if (out && m) appendFileSync(out, `${m[1]}\n`);
  return r;
}
