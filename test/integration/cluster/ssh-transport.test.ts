import { execFile } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTransport } from '../../../src/cluster/create-transport.js';
import { sha256Fingerprint } from '../../../src/cluster/ssh/known-hosts.js';
import { SshTransport, type SshTransportOptions } from '../../../src/cluster/ssh/ssh-transport.js';
import { loadConfig } from '../../../src/config.js';
import { ClusterError } from '../../../src/errors.js';
import { startTestbed } from '../../../src/sandbox/testbed.js';
import { describeTransportContract, pgrep, uniqueSleep, waitForNoProcess } from './transport-contract.js';

const tb = inject('testbed');

/** Run `n` 0.1 s commands at once; how many ran at the same time at most. */
async function peakOf(t: SshTransport, n: number, log: string): Promise<number> {
  const script = `echo "+" >> "$1"; sleep 0.1; echo "-" >> "$1"`;
  await Promise.all(Array.from({ length: n }, () => t.run(['sh', '-c', script, 'sh', log])));
  let running = 0;
  let peak = 0;
  for (const mark of (await readFile(log, 'utf8')).split('\n')) {
    if (mark === '+') peak = Math.max(peak, ++running);
    if (mark === '-') running--;
  }
  return peak;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
const execFileP = promisify(execFile);

type SshInfo = typeof tb.ssh;
const sshTransport = (ssh: SshInfo, extra: Partial<SshTransportOptions> = {}) =>
  new SshTransport({
    host: ssh.host,
    port: ssh.port,
    username: ssh.user,
    keyPath: ssh.keyPath,
    knownHostsPath: ssh.knownHostsPath,
    ...extra,
  });

describeTransportContract(
  'ssh',
  () => sshTransport(tb.ssh),
  () => tb.dir,
);

/** An ed25519 public key blob in SSH wire format, as base64 (what known_hosts holds). */
function otherHostKey(): { b64: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return { b64: blob.toString('base64'), fingerprint: sha256Fingerprint(blob) };
}

describe('SshTransport against the testbed sshd', () => {
  let work: string;
  let hostKeyB64: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tb.dir, 'ssh-transport-'));
    const line = (await readFile(tb.ssh.knownHostsPath, 'utf8')).trim().split(/\s+/);
    hostKeyB64 = line[2] ?? '';
  });

  it('reaches the test cluster: sshd passes SLURM_CONF to commands', async () => {
    const t = sshTransport(tb.ssh);
    try {
      const r = await t.run(['sinfo', '-h', '-o', '%P']);
      expect(r).toMatchObject({ exitCode: 0, stdout: `${tb.slurm.partition}*\n` });
    } finally {
      await t.close();
    }
  });

  it('is what createTransport builds from the configuration (SSH_* variables)', async () => {
    const config = loadConfig({
      CLUSTER_TRANSPORT: 'ssh',
      SSH_HOST: tb.ssh.host,
      SSH_PORT: String(tb.ssh.port),
      SSH_USER: tb.ssh.user,
      SSH_KEY_PATH: tb.ssh.keyPath,
      SSH_KNOWN_HOSTS: tb.ssh.knownHostsPath,
    });
    const t = createTransport(config);
    try {
      expect(t.kind).toBe('ssh');
      expect(await t.run(['echo', 'configured'])).toEqual({
        stdout: 'configured\n',
        stderr: '',
        exitCode: 0,
      });
    } finally {
      await t.close();
    }
    const local = createTransport(loadConfig({ CLUSTER_TRANSPORT: 'local' }));
    expect(local.kind).toBe('local');
    await local.close();
  });

  describe('host key pinning', () => {
    const refuses = async (t: SshTransport, expected: string) => {
      const canary = join(work, `hostkey-canary-${randomBytes(4).toString('hex')}`);
      try {
        const err = await t.run(['touch', canary]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ClusterError);
        const msg = (err as ClusterError).message;
        expect(msg).toMatch(/HOST KEY MISMATCH/);
        expect(msg).toContain(`expected ${expected}`);
        expect(msg).toContain(`presented ${tb.ssh.fingerprint.replace(/=+$/, '')}`);
        expect(existsSync(canary)).toBe(false);
      } finally {
        await t.close();
      }
    };

    it('refuses a server whose key differs from the pinned fingerprint, showing both', async () => {
      const other = otherHostKey();
      await refuses(
        sshTransport(tb.ssh, { knownHostsPath: undefined, fingerprint: other.fingerprint }),
        other.fingerprint,
      );
    });

    it('refuses a server whose key differs from known_hosts, showing both', async () => {
      const other = otherHostKey();
      const kh = join(work, 'known_hosts_wrong');
      await writeFile(kh, `[127.0.0.1]:${tb.ssh.port} ssh-ed25519 ${other.b64}\n`);
      await refuses(sshTransport(tb.ssh, { knownHostsPath: kh }), other.fingerprint);
    });

    it('refuses a host that known_hosts does not list at all (no trust on first use)', async () => {
      const kh = join(work, 'known_hosts_other_host');
      await writeFile(
        kh,
        `[127.0.0.1]:${tb.ssh.port + 1} ssh-ed25519 ${hostKeyB64}\nexample.org ssh-ed25519 ${hostKeyB64}\n`,
      );
      const t = sshTransport(tb.ssh, { knownHostsPath: kh });
      try {
        await expect(t.run(['true'])).rejects.toThrow(
          new RegExp(`no host key for \\[127\\.0\\.0\\.1\\]:${tb.ssh.port} in .*refusing to connect`),
        );
      } finally {
        await t.close();
      }
    });

    it('accepts the right key by fingerprint and by a hashed known_hosts entry', async () => {
      const byFp = sshTransport(tb.ssh, { knownHostsPath: undefined, fingerprint: tb.ssh.fingerprint });
      try {
        expect((await byFp.run(['echo', 'fp'])).stdout).toBe('fp\n');
      } finally {
        await byFp.close();
      }
      const salt = randomBytes(20);
      const hash = createHmac('sha1', salt).update(`[127.0.0.1]:${tb.ssh.port}`).digest();
      const kh = join(work, 'known_hosts_hashed');
      await writeFile(
        kh,
        `# hashed, as ssh-keygen -H writes it\n|1|${salt.toString('base64')}|${hash.toString('base64')} ssh-ed25519 ${hostKeyB64}\n`,
      );
      const hashed = sshTransport(tb.ssh, { knownHostsPath: kh });
      try {
        expect((await hashed.run(['echo', 'hashed'])).stdout).toBe('hashed\n');
      } finally {
        await hashed.close();
      }
    });
  });

  it('fails fast, without retrying, when the server rejects our key', async () => {
    const keyPath = join(work, 'stranger_ed25519');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
    const t = sshTransport(tb.ssh, { keyPath });
    try {
      const started = Date.now();
      await expect(t.run(['true'], { timeoutMs: 20_000 })).rejects.toThrow(
        `SSH authentication as ${tb.ssh.user} to ${tb.ssh.user}@127.0.0.1:${tb.ssh.port} failed`,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await t.close();
    }
  });

  it('runs 50 concurrent commands on one connection, never more than maxChannels at once', async () => {
    const t = sshTransport(tb.ssh);
    const log = join(work, 'concurrency.log');
    try {
      const script = `echo "+" >> "$2"; sleep 0.1; echo "$1 $PPID"; echo "-" >> "$2"`;
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => t.run(['sh', '-c', script, 'sh', String(i), log])),
      );
      const failures = results.filter((r) => r.status === 'rejected');
      expect(failures).toEqual([]);
      const outs = results.map((r) => (r.status === 'fulfilled' ? r.value.stdout.trim().split(' ') : []));
      expect(outs.map((o) => o[0])).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
      // Every command's shell has the same parent: the sshd process serving our one connection.
      expect(new Set(outs.map((o) => o[1])).size).toBe(1);
      let running = 0;
      let peak = 0;
      for (const mark of (await readFile(log, 'utf8')).split('\n')) {
        if (mark === '+') peak = Math.max(peak, ++running);
        if (mark === '-') running--;
      }
      expect(peak).toBeLessThanOrEqual(8);
      expect(peak).toBeGreaterThan(1);
    } finally {
      await t.close();
    }
  });

  it('honours a smaller channel cap', async () => {
    const t = sshTransport(tb.ssh, { maxChannels: 2 });
    const log = join(work, 'cap2.log');
    try {
      expect(await peakOf(t, 8, log)).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('stats paths through one kept perl agent, which holds one of the channel slots', async () => {
    const t = sshTransport(tb.ssh, { maxChannels: 2 });
    const file = join(work, 'stat me.out');
    await writeFile(file, 'x'.repeat(1234));
    try {
      // Not connected yet: stat is only a shortcut, and says so; run() is what connects.
      expect(await t.statPaths([file])).toBeNull();
      await t.run(['true']);
      const [st, gone, dir] = (await t.statPaths([file, join(work, 'nope'), work])) ?? [];
      // To the microsecond: what find prints, as near as a double gets.
      const printed = async (p: string) =>
        Number((await t.run(['find', p, '-maxdepth', '0', '-printf', '%T@'])).stdout);
      expect(st?.size).toBe(1234);
      expect(Math.abs((st?.mtime ?? 0) - (await printed(file)))).toBeLessThan(2e-6);
      expect(gone).toBeNull();
      expect(Math.abs((dir?.mtime ?? 0) - (await printed(work)))).toBeLessThan(2e-6);

      // The agent stays up and takes a slot: with a cap of 2, one command runs at a time.
      expect(await peakOf(t, 4, join(work, 'cap-with-agent.log'))).toBe(1);
      expect((await t.statPaths([file]))?.[0]?.size).toBe(1234);
    } finally {
      await t.close();
    }
    expect(await t.statPaths([file])).toBeNull();
  });

  it('never waits for a slot to stat: with every channel busy it answers null at once', async () => {
    const t = sshTransport(tb.ssh, { maxChannels: 1 });
    try {
      await t.run(['true']);
      const busy = t.run(['sleep', '1']);
      const t0 = performance.now();
      expect(await t.statPaths([work])).toBeNull();
      expect(performance.now() - t0).toBeLessThan(500);
      await busy;
      expect((await t.statPaths([work]))?.length).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('fails a queued command that cannot start before its timeout', async () => {
    const t = sshTransport(tb.ssh, { maxChannels: 1 });
    const s = uniqueSleep();
    try {
      const blocker = t.run(['sleep', s.arg], { timeoutMs: 1500 }).catch((e: unknown) => e);
      const err = await t.run(['echo', 'late'], { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).message).toMatch(/did not start within 300 ms \(all SSH channels busy\)/);
      expect(await blocker).toBeInstanceOf(ClusterError);
      expect(await waitForNoProcess(s.pattern)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('close() fails what is running, kills it on the cluster, and refuses new commands', async () => {
    const t = sshTransport(tb.ssh);
    const s = uniqueSleep();
    await t.run(['true']);
    const running = t.run(['sleep', s.arg]).catch((e: unknown) => e);
    for (let i = 0; i < 100 && (await pgrep(s.pattern)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.close();
    expect(await running).toBeInstanceOf(ClusterError);
    expect(await waitForNoProcess(s.pattern)).toEqual([]);
    await expect(t.run(['true'])).rejects.toThrow(/closed/);
  });
});

// The connection drops by SIGKILL of the sshd process serving it. A SIGTERM is not a drop: OpenSSH 9.2's
// session process sets a flag on it and checks the flag only when its poll wakes, so a SIGTERM that lands
// between the check and the poll leaves the connection up until the next packet — our next command.
describe('SshTransport reconnect (own sshd, restarted mid-test)', () => {
  it('fails the command in flight when the connection drops, then reconnects for queued ones', async () => {
    const own = await startTestbed({ redis: false, slurm: false, ssh: true });
    const t = sshTransport(own.info.ssh, { minBackoffMs: 50, maxBackoffMs: 400 });
    const s = uniqueSleep();
    try {
      // A shell's parent is the sshd process serving our one pooled connection.
      const connPid = Number((await t.run(['sh', '-c', 'echo $PPID'])).stdout.trim());
      expect(Number((await t.run(['sh', '-c', 'echo $PPID'])).stdout.trim())).toBe(connPid);

      const inFlight = t.run(['sleep', s.arg], { timeoutMs: 20_000 }).catch((e: unknown) => e);
      for (let i = 0; i < 100 && (await pgrep(s.pattern)).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // sshd goes away entirely: the listener restarts and the process holding our connection dies.
      const restarted = own.restartSshd();
      process.kill(connPid, 'SIGKILL');
      const err = await inFlight;
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).message).toMatch(/lost while sleep was running/);

      // Queued while the transport reconnects (with backoff); they run once sshd is back.
      const queued = ['a', 'b', 'c'].map((x) => t.run(['echo', x], { timeoutMs: 15_000 }));
      await restarted;
      expect((await Promise.all(queued)).map((r) => r.stdout)).toEqual(['a\n', 'b\n', 'c\n']);
      const newConnPid = Number((await t.run(['sh', '-c', 'echo $PPID'])).stdout.trim());
      expect(newConnPid).not.toBe(connPid);
    } finally {
      await t.close();
      // The orphaned remote sleep belongs to this test; end it by pid.
      for (const pid of await pgrep(s.pattern)) process.kill(pid, 'SIGKILL');
      await own.stop();
    }
  });

  it('reconnects on the next command after the connection dropped while idle', async () => {
    const own = await startTestbed({ redis: false, slurm: false, ssh: true });
    const t = sshTransport(own.info.ssh, { minBackoffMs: 50, maxBackoffMs: 300 });
    try {
      await t.run(['true']);
      const connPid = Number((await t.run(['sh', '-c', 'echo $PPID'])).stdout.trim());
      process.kill(connPid, 'SIGKILL');
      // "Idle" means the drop has happened and reached us before the next command: wait for the process to
      // be gone (on a loaded machine that is not always within a fixed 100 ms), then for its FIN.
      for (let i = 0; i < 100 && isAlive(connPid); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      await own.restartSshd();
      expect((await t.run(['echo', 'back'], { timeoutMs: 10_000 })).stdout).toBe('back\n');
    } finally {
      await t.close();
      await own.stop();
    }
  });
});
