// `node --import <this file> …`: appends the name of every npm package the process loads to the file
// named by RECORD_PACKAGES, one a line, so a test can see what a command pulled in. ES modules are seen
// by a resolve hook (record-packages-hook.mjs), CommonJS require() (the CLI's bundle, dist/src/cli.cjs,
// requires its packages) where Node resolves a request to a file.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

register('./record-packages-hook.mjs', import.meta.url);

const out = process.env.RECORD_PACKAGES;
const PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function recordPackage(...args) {
  const file = resolveFilename.apply(this, args);
  const m = out ? PACKAGE.exec(file) : null;
  if (m) appendFileSync(out, `${m[1]}\n`);
  return file;
};
