import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// bin/build-if-stale.cjs decides whether the CLI may run dist/ as it is: from the build's record of when it
// started and which sources it read (dist/.built), one stat per source, no directory read.

const require = createRequire(import.meta.url);
const { staleness } = require('../../../bin/build-if-stale.cjs') as {
  staleness: (root: string) => string | null;
};

describe('bin/build-if-stale.cjs', () => {
  let root: string;
  /** A checkout whose sources are an hour old, and a build record from a minute ago. */
  const built = () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    const paths = ['src', 'src/a.ts', 'src/room', 'src/room/b.ts', 'package.json'];
    for (const p of [...paths].reverse()) utimesSync(join(root, p), hourAgo, hourAgo);
    writeFileSync(
      join(root, 'dist/.built'),
      `${JSON.stringify({ startedAt: Date.now() - 60_000, paths })}\n`,
    );
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
    mkdirSync(join(root, 'src/room'), { recursive: true });
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'src/room/b.ts'), 'export const b = 1;\n');
    writeFileSync(join(root, 'package.json'), '{}\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds a build current when no source changed since it started', () => {
    built();
    expect(staleness(root)).toBeNull();
  });

  it('finds it stale when a file is edited in place', () => {
    built();
    writeFileSync(join(root, 'src/room/b.ts'), 'export const b = 2;\n');
    expect(staleness(root)).toBe('a source file changed since the last build');
  });

  it('finds it stale when a file is added, removed or renamed (its directory changes)', () => {
    built();
    writeFileSync(join(root, 'src/room/c.ts'), 'export const c = 1;\n');
    expect(staleness(root)).toBe('a source file changed since the last build');
    built();
    rmSync(join(root, 'src/room/b.ts'));
    expect(staleness(root)).toBe('a source file changed since the last build');
  });

  it('asks for a build when there is none, or one without its list of sources', () => {
    expect(staleness(root)).toBe('dist/ has not been built');
    writeFileSync(join(root, 'dist/.built'), '2026-12-01T10:00:00.000Z\n');
    expect(staleness(root)).toBe('dist/ was built without its list of sources');
  });

  it('has nothing to say where the package holds no sources (an installed copy, the image)', () => {
    rmSync(join(root, 'src'), { recursive: true });
    expect(staleness(root)).toBeNull();
  });
});
