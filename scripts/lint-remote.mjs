#!/usr/bin/env node
// `npm run lint`, part 3: every program that runs on the cluster (src/cluster/remote/) is linted as what it
// is — shellcheck for POSIX sh, `perl -c` with warnings for perl — and must open with its header comment
// (operands, stdin, output, exit codes). Plain Node, no dependencies.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../src/cluster/remote/', import.meta.url).pathname;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.sh') || f.endsWith('.pl'))
  .sort();
const HEADER = ['Operands:', 'Stdin:', 'Output:', 'Exit codes:'];
let failed = 0;
const need = (bin, pkg) => {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (r.error) {
    console.error(
      `lint-remote: ${bin} is not installed. Install it: apt-get install -y ${pkg} (npm test does it).`,
    );
    process.exit(2);
  }
};
if (files.some((f) => f.endsWith('.sh'))) need('shellcheck', 'shellcheck');
if (files.some((f) => f.endsWith('.pl'))) need('perl', 'perl');
for (const f of files) {
  const path = join(dir, f);
  const head = readFileSync(path, 'utf8').split('\n').slice(0, 40).join('\n');
  const missing = HEADER.filter((h) => !head.includes(h));
  if (missing.length > 0) {
    console.error(`${path}: the header comment lacks ${missing.join(', ')}`);
    failed++;
  }
  const r = f.endsWith('.sh')
    ? spawnSync('shellcheck', ['--shell=sh', '--severity=style', '--format=gcc', path], { encoding: 'utf8' })
    : spawnSync('perl', ['-c', '-w', path], { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/^.* syntax OK\n?$/m, '').trim();
  if (r.status !== 0 || out !== '') {
    console.error(out || `${path}: exit ${r.status}`);
    failed++;
  }
}
if (failed > 0) {
  console.error(`lint-remote: ${failed} problem(s) in ${files.length} remote programs`);
  process.exit(1);
}
console.log(`lint-remote: ${files.length} remote programs clean (shellcheck, perl -c)`);
