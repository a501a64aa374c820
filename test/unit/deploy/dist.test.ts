import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// The production build (scripts/build.mjs) bundles every module into dist/src/, so the files the code reads
// at run time beside its modules — the cluster's remote programs (src/cluster/remote-script.ts reads
// `./remote/`) and the sandbox's stand-ins (src/sandbox/programs.ts reads `./programs/`) — must sit there.

const root = new URL('../../..', import.meta.url).pathname;
const dist = join(root, 'dist/src');

describe('dist/ (npm run build)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
  }, 180_000);

  it.each([
    ['src/cluster/remote', 'remote'],
    ['src/sandbox/programs', 'programs'],
  ])('holds every file of %s, as it is, in dist/src/%s', (from, to) => {
    const names = readdirSync(join(root, from));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const source = join(root, from, name);
      const built = join(dist, to, name);
      expect(readFileSync(built, 'utf8'), name).toBe(readFileSync(source, 'utf8'));
      expect(statSync(built).mode, name).toBe(statSync(source).mode);
    }
  });

  it('has every module directly in dist/src/, where those directories are looked for', () => {
    const modules = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(modules).toContain('main.js');
    expect(modules.filter((f) => f.includes('/'))).toEqual([]);
  });

  it('runs from anywhere: the built CLI reads its remote programs when it starts', () => {
    // Loading the cluster room reads the remote programs it sends (a missing one throws at load).
    const out = execFileSync(
      process.execPath,
      [join(root, 'bin/chatops.cjs'), 'train', 'scan-log', join(root, 'test/fixtures/neox/cuda_oom.log')],
      { cwd: tmpdir(), encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } },
    );
    expect(out).toContain('out of memory');
  });

  /** Whether this Node.js takes `cache` for the CLI's bundle, read as bin/load-bundle.cjs reads it. */
  const accepts = async (cache: Buffer) => {
    const { Script } = await import('node:vm');
    const { default: Module } = await import('node:module');
    const file = join(dist, 'cli.cjs');
    return !new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, cachedData: cache })
      .cachedDataRejected;
  };

  it("gives the CLI's bundle a code cache this Node.js accepts, made as bin/load-bundle.cjs loads it", async () => {
    expect(await accepts(readFileSync(join(dist, 'cli.cjs.cache')))).toBe(true);
  });

  it('replaces a code cache this Node.js rejects (another version, say) at the next call', async () => {
    const cache = join(dist, 'cli.cjs.cache');
    const good = readFileSync(cache);
    writeFileSync(cache, 'not a code cache');
    try {
      const out = execFileSync(process.execPath, [join(root, 'bin/chatops.cjs'), 'help'], {
        cwd: tmpdir(),
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: tmpdir(),
          AUDIT_LOG: join(tmpdir(), 'dist-test-audit.jsonl'),
        },
      });
      expect(out).toContain('chatops console');
      expect(await accepts(readFileSync(cache))).toBe(true);
    } finally {
      if (!(await accepts(readFileSync(cache)))) writeFileSync(cache, good);
    }
  });
});
