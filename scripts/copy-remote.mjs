#!/usr/bin/env node
// `npm run build`, after tsc: programs the bot runs are files read at run time beside the compiled module —
// the cluster's remote programs (src/cluster/remote-script.ts) and the sandbox's stand-ins
// (src/sandbox/programs.ts) — so they go into dist/ as they are. Then the stamp bin/build-if-stale.js
// compares the sources with.
import { cpSync, writeFileSync } from 'node:fs';

for (const dir of ['src/cluster/remote/', 'src/sandbox/programs/']) {
  cpSync(new URL(`../${dir}`, import.meta.url), new URL(`../dist/${dir}`, import.meta.url), {
    recursive: true,
  });
}
writeFileSync(new URL('../dist/.built', import.meta.url), `${new Date().toISOString()}\n`);
