import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

// A researcher on a laptop has no cluster settings: the offline helpers (docs/json-contracts.md) must still answer,
// and a command that needs the cluster must say exactly what to set.

const fixture = new URL('../../fixtures/neox/cuda_oom.log', import.meta.url).pathname;

const cli = (argv: string[], env: Record<string, string>) => runCli({ argv, env });

describe('the CLI without cluster settings', () => {
  it('runs `train scan-log --json` offline and prints the documented shape', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-offline-'));
    const r = await cli(['train', 'scan-log', fixture, '--json'], { AUDIT_LOG: join(dir, 'audit.jsonl') });
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out);
    expect(Object.keys(data).sort()).toEqual([
      'findings',
      'iterationsLogged',
      'lastIteration',
      'lastLoss',
      'trainIters',
    ]);
    expect(data.findings.map((f: { kind: string }) => f.kind)).toEqual(['cuda_oom']);
  });

  it('refuses a cluster command, naming every missing setting, and runs nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-offline-'));
    const r = await cli(['train', 'list'], { AUDIT_LOG: join(dir, 'audit.jsonl') });
    expect(r.code).toBe(1);
    expect(r.err).toContain('the connection is not configured');
    for (const k of ['SSH_HOST', 'SSH_USER', 'SSH_KEY_PATH', 'SSH_KNOWN_HOSTS']) expect(r.err).toContain(k);
    expect(r.err).toContain('Usage: /train list');
  });

  it('still rejects a bad non-cluster setting outright where the command reads the configuration', async () => {
    const r = await cli(['train', 'list'], { TZ: 'Mars/Base' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('TZ must be an IANA time zone');
  });

  it('runs the offline helpers on the two settings they use, whatever the others say', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-offline-'));
    const env = { TZ: 'Mars/Base', SSH_PORT: 'twenty-two', AUDIT_LOG: join(dir, 'audit.jsonl') };
    const scan = await cli(['train', 'scan-log', fixture, '--json'], env);
    expect(scan.err).toBe('');
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.out).findings.map((f: { kind: string }) => f.kind)).toEqual(['cuda_oom']);
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit.map((l) => JSON.parse(l).command)).toEqual([`/train scan-log ${fixture}`]);
    // The audit file is one of the two: a bad one is still refused, naming it.
    const bad = await cli(['train', 'scan-log', fixture], { AUDIT_LOG: 'audit.jsonl' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('AUDIT_LOG must be an absolute path');
  });

  it('answers help and unknown names without reading the rest of the settings, and audits them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-offline-'));
    const env = { TZ: 'Mars/Base', AUDIT_LOG: join(dir, 'audit.jsonl') };
    const help = await cli(['help'], env);
    expect(help.code).toBe(0);
    expect(help.out).toContain('train scan-log <file>');
    const sub = await cli(['ckpt', 'upload', '--help'], env);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('Usage: /ckpt upload <experiment>');
    const unknown = await cli(['trian', 'list'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Unknown command "trian"');
    const audit = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit.map((l) => JSON.parse(l).command)).toEqual(['help', '/ckpt upload --help', '/trian list']);
    // A bad AUDIT_LOG is the whole configuration's to report, help or not.
    const bad = await cli(['help'], { AUDIT_LOG: 'audit.jsonl' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('AUDIT_LOG must be an absolute path');
  });
});
