import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The installed `chatops` (bin/chatops.cjs over dist/) run as a user runs it. Help and the offline helpers
// must answer with Redis and sshd unreachable, loading none of the runtime's clients; a cluster command
// opens exactly one connection, to sshd. Redis and sshd sit behind counting TCP relays on 127.0.0.1.

const root = new URL('../../..', import.meta.url).pathname;
const bin = join(root, 'bin/chatops.cjs');
const recorder = new URL('./record-packages.mjs', import.meta.url).pathname;
const fixture = join(root, 'test/fixtures/neox/cuda_oom.log');
const HEAVY = [
  'bullmq',
  'ioredis',
  'ssh2',
  '@slack/bolt',
  '@slack/web-api',
  '@slack/socket-mode',
  '@resvg/resvg-js',
];

/** A TCP relay that counts connections; with no target it accepts and says nothing (a hung service). */
async function relay(target?: {
  host: string;
  port: number;
}): Promise<{ server: Server; port: number; count: () => number }> {
  let n = 0;
  const server = createServer((sock) => {
    n++;
    if (!target) return;
    const up = connect(target.port, target.host);
    sock.pipe(up).pipe(sock);
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, port, count: () => n };
}

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
  packages: string[];
}

describe('the chatops CLI loads what a command needs', () => {
  const tb = inject('testbed');
  let work: string;
  let redis: Awaited<ReturnType<typeof relay>>;
  let ssh: Awaited<ReturnType<typeof relay>>;
  let env: Record<string, string>;

  const chatops = async (args: string[], extra: Record<string, string> = {}): Promise<Run> => {
    const record = join(work, `packages-${Math.random().toString(36).slice(2)}.txt`);
    await writeFile(record, '');
    const t0 = Date.now();
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', recorder, bin, ...args],
        { cwd: work, env: { ...env, ...extra, RECORD_PACKAGES: record }, timeout: 60_000 },
        (err, out, errOut) => {
          const ms = Date.now() - t0;
          void readFile(record, 'utf8').then((text) =>
            resolve({
              code: err ? ((err as { code?: number }).code ?? null) : 0,
              out,
              err: errOut,
              ms,
              packages: [...new Set(text.split('\n').filter(Boolean))],
            }),
          );
        },
      );
    });
  };

  beforeAll(async () => {
    // bin/chatops.cjs builds a stale dist/ itself; doing it here keeps the build out of the timed runs.
    execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
    work = await mkdtemp(join(tb.dir, 'cli-loads-'));
    redis = await relay();
    ssh = await relay();
    env = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      SSH_HOST: '127.0.0.1',
      SSH_PORT: String(ssh.port),
      SSH_USER: tb.ssh.user,
      SSH_KEY_PATH: tb.ssh.keyPath,
      SSH_HOST_FINGERPRINT: tb.ssh.fingerprint,
      AUDIT_LOG: join(work, 'audit.jsonl'),
    };
  }, 180_000);

  afterAll(() => {
    redis?.server.close();
    ssh?.server.close();
  });

  it('answers `help` with Redis and sshd hung, touching neither and loading none of their clients', async () => {
    const r = await chatops(['help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('chatops console');
    expect(r.out).toContain('train scan-log <file>');
    expect(r.out).toContain('ckpt upload');
    expect(redis.count() + ssh.count()).toBe(0);
    expect(r.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    const sub = await chatops(['train', 'submit', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('Usage: /train submit <config.yml>');
    expect(sub.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(redis.count() + ssh.count()).toBe(0);
  }, 60_000);

  it('runs the offline helpers (`train scan-log`, `digest --logs`) the same way', async () => {
    const scan = await chatops(['train', 'scan-log', fixture, '--json']);
    expect(scan.code).toBe(0);
    expect(JSON.parse(scan.out).findings.map((f: { kind: string }) => f.kind)).toEqual(['cuda_oom']);
    expect(scan.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    const logs = await mkdtemp(join(work, 'pipeline-logs-'));
    const digest = await chatops(['digest', '--logs', logs, '--json']);
    expect(digest.err).toBe('');
    expect(digest.code).toBe(0);
    expect(JSON.parse(digest.out)).toEqual({ experiments: {}, uploadedRepos: [] });
    expect(digest.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(redis.count() + ssh.count()).toBe(0);
    // Every invocation is still audited.
    const audit = (await readFile(join(work, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit.map((l) => JSON.parse(l).command)).toContain(`/train scan-log ${fixture}`);
  }, 60_000);

  it('runs a cluster command over one SSH connection and no Redis connection', async () => {
    const through = await relay({ host: tb.ssh.host, port: tb.ssh.port });
    try {
      const r = await chatops(['train', 'list', '--json'], { SSH_PORT: String(through.port) });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toHaveProperty('jobs');
      expect(through.count()).toBe(1);
      expect(redis.count()).toBe(0);
      // The recorder sees a package the command does load (the checks above are not vacuous).
      expect(r.packages).toContain('ssh2');
      expect(r.packages).not.toContain('@slack/bolt');
    } finally {
      through.server.close();
    }
  }, 60_000);
});
