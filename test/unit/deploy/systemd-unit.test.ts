import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';

// deploy/slurm-chatops.service, read as systemd reads it: the keys an operator relies on, and (where this
// machine has systemd-analyze, which npm test's set-up installs) systemd's own verdict.

const root = new URL('../../..', import.meta.url).pathname;
const unitPath = join(root, 'deploy/slurm-chatops.service');
const text = readFileSync(unitPath, 'utf8');
const defaults = loadConfig({ CLUSTER_TRANSPORT: 'local' });

/** section → key → every value, in order (systemd keys may repeat). */
function parseUnit(s: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of s.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = new Map();
      out.set(sec[1] as string, section);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`${unitPath}: cannot read "${line}"`);
    section.set(kv[1] as string, [...(section.get(kv[1] as string) ?? []), (kv[2] as string).trim()]);
  }
  return out;
}

const unit = parseUnit(text);
const service = unit.get('Service') ?? new Map<string, string[]>();
const one = (k: string) => service.get(k)?.at(-1);

/** systemd time span ("40", "40s", "1min 30s") in seconds. */
function seconds(span: string): number {
  let total = 0;
  for (const m of span.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h)?/g)) {
    const n = Number(m[1]);
    const unitName = m[2] ?? 's';
    total +=
      unitName === 'ms'
        ? n / 1000
        : unitName === 'min' || unitName === 'm'
          ? n * 60
          : unitName === 'h'
            ? n * 3600
            : n;
  }
  return total;
}

describe('the systemd unit', () => {
  it('runs the compiled bot as its own user from the checkout, with the settings file', () => {
    expect(one('User')).toMatch(/^[a-z_][a-z0-9_-]*$/);
    expect(one('User')).not.toBe('root');
    expect(one('WorkingDirectory')).toMatch(/^\/opt\/slurm-chatops$/);
    expect(one('EnvironmentFile')).toBe('/etc/slurm-chatops/env');
    const [node, entry, ...rest] = (one('ExecStart') ?? '').split(/\s+/);
    expect(node).toMatch(/(^|\/)node$/);
    expect(entry).toBe('dist/src/main.js');
    expect(rest).toEqual([]);
    // The entry the build makes (the path is relative to WorkingDirectory, i.e. the checkout).
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start).toContain(entry);
  });

  it('restarts on failure and stops with SIGTERM, waiting longer than the bot takes to stop', () => {
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(seconds(one('TimeoutStopSec') ?? '0')).toBeGreaterThan(defaults.SHUTDOWN_TIMEOUT_S);
  });

  it('is hardened, and may write only the audit log directory', () => {
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    const writable = (service.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/));
    expect(writable).toEqual(['/var/log/slurm-chatops']);
    expect(writable).toContain(defaults.AUDIT_LOG.slice(0, defaults.AUDIT_LOG.lastIndexOf('/')));
    // V8 compiles code at run time: forbidding writable-executable memory would stop node.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });

  // npm test's set-up installs systemd's package (scripts/ensure-deps.mjs); without it this fails.
  it('passes systemd-analyze verify', async () => {
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    expect(analyze, 'systemd-analyze is missing: apt-get install -y systemd').toBeDefined();
    const { stdout, stderr } = await promisify(execFile)(analyze as string, ['verify', unitPath]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });
});
