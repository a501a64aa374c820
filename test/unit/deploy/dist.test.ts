import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// The compiled code finds the files it reads at run time beside its modules: the cluster's remote programs
// (src/cluster/remote-script.ts) and the sandbox's stand-ins (src/sandbox/programs.ts).

const root = new URL('../../..', import.meta.url).pathname;
const dist = (p: string) => pathToFileURL(join(root, 'dist', p)).href;

describe('dist/ (npm run build)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'bin/build-if-stale.js')], { stdio: 'inherit' });
  }, 180_000);

  it('holds every remote program, as it is, and the compiled loader reads each one', async () => {
    const { loadRemoteScript } = (await import(
      dist('src/cluster/remote-script.js')
    )) as typeof import('../../../src/cluster/remote-script.js');
    const names = readdirSync(join(root, 'src/cluster/remote'));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const source = join(root, 'src/cluster/remote', name);
      expect(loadRemoteScript(name).body).toBe(readFileSync(source, 'utf8'));
      expect(statSync(join(root, 'dist/src/cluster/remote', name)).mode).toBe(statSync(source).mode);
    }
  });

  it('holds the sandbox programs where the compiled module points', async () => {
    const { SANDBOX_PROGRAMS } = (await import(
      dist('src/sandbox/programs.js')
    )) as typeof import('../../../src/sandbox/programs.js');
    for (const [what, path] of Object.entries(SANDBOX_PROGRAMS)) {
      expect(path.startsWith(join(root, 'dist/')), what).toBe(true);
      const source = join(root, 'src/sandbox/programs', path.slice(path.lastIndexOf('/') + 1));
      expect(readFileSync(path, 'utf8'), what).toBe(readFileSync(source, 'utf8'));
      expect(statSync(path).mode, what).toBe(statSync(source).mode);
    }
  });
});
