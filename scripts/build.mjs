#!/usr/bin/env node
// `npm run build`: the production code in dist/src/, twice, from the same sources.
// - For the bot (`npm start`): src/main.ts and everything it reaches, bundled by esbuild into ES modules
//   split at every dynamic import (main.js plus shared chunk-*.js files), so a process loads a handful of
//   files instead of hundreds and still loads only what its path needs.
// - For the CLI (bin/chatops.cjs): the same entry as one CommonJS file, cli.cjs, with a V8 code cache
//   (buildCli below says why and how).
// Types are checked by `npm run typecheck`, not here: the build must be quick enough to run on demand
// (bin/build-if-stale.cjs).
//
// Bundled: our sources, zod and (for the bot) yaml. Left in node_modules and loaded from there: every
// other package, so the ones with native parts (ssh2, resvg), files read beside their modules (bullmq's
// Lua scripts) or worker threads (pino's transports) work as installed, and a test can see which of them
// a command loads.
//
// Programs the bot runs are files read at run time beside the module that loads them: the cluster's
// remote programs (src/cluster/remote-script.ts reads `./remote/`) and the sandbox's stand-ins
// (src/sandbox/programs.ts reads `./programs/`). Every bundled module lives in dist/src/ itself, so both
// directories are copied there, as they are (modes kept). Last, dist/.built: when the build started and
// every source it read, which bin/build-if-stale.cjs compares the sources with.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/src`;

/**
 * Packages left in node_modules and loaded from there; every other one is compiled into the bundle with
 * its dependencies (a bot start would otherwise resolve and read ~900 CommonJS files one by one).
 */
const EXTERNAL = new Set([
  // Native parts (resvg's prebuilt binary; ssh2's optional crypto addon and the WebAssembly it reads
  // beside its modules).
  'ssh2',
  '@resvg/resvg-js',
  // Files read beside their modules (Lua scripts), and one ioredis for BullMQ and us alike.
  'bullmq',
  'ioredis',
  // Worker-thread transports resolve their own files.
  'pino',
  'pino-pretty',
  // Loaded with the first chart only (src/charts/lazy-chart-renderer.ts), and large.
  'echarts',
]);

const packageName = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      return EXTERNAL.has(packageName(args.path)) ? { path: args.path, external: true } : undefined;
    });
  },
};

// A source saved from here on is newer than this build (bin/build-if-stale.cjs compares with this time).
const startedAt = Date.now();
// dist/ itself holds bin/build-if-stale.cjs's lock while it builds.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const REQUIRE_BANNER =
  "import { createRequire as __chatopsRequire } from 'node:module';\nconst require = __chatopsRequire(import.meta.url);";
const { metafile } = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts' },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Less to parse at every start; names stay, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [externalPackages],
  metafile: true,
  // A bundled CommonJS dependency would call require().
  banner: { js: REQUIRE_BANNER },
});
// The banner costs each module a createRequire() at load, and a bot start loads dozens of chunks: where a
// chunk never names `require`, its banner lines are blanked (not removed, so the source map's lines hold).
for (const file of Object.keys(metafile.outputs).filter((f) => f.endsWith('.js'))) {
  const path = `${root}${file}`;
  const code = readFileSync(path, 'utf8');
  if (!code.startsWith(REQUIRE_BANNER) || /\brequire\b/.test(code.slice(REQUIRE_BANNER.length))) continue;
  writeFileSync(path, REQUIRE_BANNER.replace(/[^\n]/g, '') + code.slice(REQUIRE_BANNER.length));
}
for (const [from, to] of [
  ['src/cluster/remote/', 'remote/'],
  ['src/sandbox/programs/', 'programs/'],
]) {
  cpSync(`${root}${from}`, `${out}/${to}`, { recursive: true });
}
// What each chunk holds, for a look at what a command loads (npx esbuild --analyze reads it too).
writeFileSync(`${root}dist/meta.json`, JSON.stringify(metafile));
// A short GPT-NeoX log for the CLI's cache (buildCli): two iterations, then a known failure.
const SAMPLE_LOG = [
  'training ...',
  ' samples/sec: 37.509 | iteration        1/     100 | elapsed time per iteration (ms): 2730.4 | learning rate: 4.196E-07 | lm_loss: 1.098000E+01 | number of skipped iterations:   0 | number of nan iterations:   0 |',
  ' samples/sec: 37.509 | iteration        2/     100 | elapsed time per iteration (ms): 2730.4 | learning rate: 8.392E-07 | lm_loss: 1.075144E+01 | number of skipped iterations:   0 | number of nan iterations:   0 |',
  'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.',
  '',
].join('\n');
await buildCli();
writeFileSync(`${root}dist/.built`, `${JSON.stringify({ startedAt, paths: sourcePaths() })}\n`);

/**
 * dist/src/cli.cjs, what bin/chatops.cjs runs: src/main.ts's cliMain and what it reaches, as one CommonJS
 * file (esbuild cannot split CommonJS). A module reached by import() is still evaluated only when the call is made (esbuild
 * wraps it in a function), so a command loads the code of every module but runs only its own. Packages
 * stay in node_modules, required when a module that names them is first evaluated: import() of a package
 * becomes that require too, the ES-only execa included (Node.js 20.19 and later require ES modules).
 * The bundle sits in dist/src/ beside remote/ and programs/, which import.meta.url finds as in main.js.
 * Last, the code cache bin/load-bundle.cjs reads: V8 caches the functions compiled so far, so the bundle
 * is loaded the way the CLI loads it and a few offline commands are run (help, a subcommand's help, a log
 * scan), each the way a user would, so that what they compile is in the cache.
 */
async function buildCli() {
  const file = `${out}/cli.cjs`;
  const requirePackages = {
    name: 'require-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/, namespace: 'file' }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        if (args.importer.includes('/node_modules/')) return undefined;
        return packageName(args.path) === 'zod' ? undefined : { path: args.path, namespace: 'package' };
      });
      build.onResolve({ filter: /.*/, namespace: 'package' }, (args) => ({
        path: args.path,
        external: true,
      }));
      build.onLoad({ filter: /.*/, namespace: 'package' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
  await esbuild.build({
    absWorkingDir: root,
    // cliMain only: src/main.ts's other entries (the bot, the demo) are left out with what they reach.
    stdin: {
      contents: "export { cliMain } from './src/main.ts';",
      resolveDir: root,
      sourcefile: 'cli-entry.ts',
      loader: 'ts',
    },
    outfile: file,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [requirePackages],
    // CLI_BUNDLE: src/main.ts's start of the bot becomes dead code here (see there).
    define: { 'import.meta.url': '__bundleUrl', 'import.meta.dirname': '__dirname', CLI_BUNDLE: 'true' },
    banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  // bin/load-bundle.cjs reads the bundle as latin1, which is utf8 only for ASCII (esbuild's default charset).
  if (readFileSync(file).some((byte) => byte > 0x7f)) throw new Error(`${file} is not ASCII`);
  const require = Module.createRequire(import.meta.url);
  const { loadBundle, saveCache } = require('../bin/load-bundle.cjs');
  const { exports, script } = loadBundle(file);
  const work = mkdtempSync(`${tmpdir()}/chatops-build-`);
  try {
    const log = `${work}/train.out`;
    writeFileSync(log, SAMPLE_LOG);
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    for (const argv of [['help'], ['train', 'submit', '--help'], ['train', 'scan-log', log]]) {
      await exports.cliMain({
        argv,
        env: { PATH: process.env.PATH ?? '', AUDIT_LOG: `${work}/audit.jsonl` },
        readDotEnv: false,
        stdin: process.stdin,
        stdout: sink,
        stderr: sink,
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!saveCache(script, file)) throw new Error(`could not write ${file}.cache`);
}

/** Every file and directory under the sources, relative to the root: what bin/build-if-stale.cjs stats. */
function sourcePaths() {
  const require = Module.createRequire(import.meta.url);
  const { SOURCES } = require('../bin/build-if-stale.cjs');
  const paths = [];
  const walk = (rel) => {
    const st = statSync(`${root}${rel}`, { throwIfNoEntry: false });
    if (!st) return;
    paths.push(rel);
    if (st.isDirectory()) for (const name of readdirSync(`${root}${rel}`).sort()) walk(`${rel}/${name}`);
  };
  for (const source of SOURCES) walk(source);
  return paths;
}
