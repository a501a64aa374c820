import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a binary, or undefined. sshd must be started by absolute path, so always resolve. */
export function findBinary(name: string): string | undefined {
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...DIRS, ...fromPath]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Resolve every binary a service needs; if any is missing, fail once naming every Debian package to
 * install (scripts/ensure-deps.mjs installs them before `npm test`).
 */
export function requireBinaries<K extends string>(needs: Record<K, string>): Record<K, string> {
  const found = {} as Record<K, string>;
  const missing = new Map<string, string[]>();
  for (const [bin, pkg] of Object.entries(needs) as [K, string][]) {
    const p = findBinary(bin);
    if (p) found[bin] = p;
    else missing.set(pkg, [...(missing.get(pkg) ?? []), bin]);
  }
  if (missing.size > 0) {
    const pkgs = [...missing.keys()];
    const detail = [...missing].map(([pkg, bins]) => `${bins.join(', ')} (package ${pkg})`).join('; ');
    throw new Error(
      `testbed: missing programs: ${detail}. Install them as root: apt-get install -y ${pkgs.join(' ')}` +
        ' (or run `node scripts/ensure-deps.mjs`, which npm test runs first).',
    );
  }
  return found;
}
