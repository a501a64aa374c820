import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { requireBinaries } from '../../../src/sandbox/require-binaries.js';
import { startTestbed } from '../../../src/sandbox/testbed.js';

const exec = promisify(execFile);
const tb = inject('testbed');

function sshArgs(command: string): string[] {
  const s = tb.ssh;
  return [
    '-F',
    '/dev/null',
    '-p',
    String(s.port),
    '-i',
    s.keyPath,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${s.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    `${s.user}@${s.host}`,
    command,
  ];
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });

describe('testbed', () => {
  it('runs its own Redis with AOF on and noeviction, not the system one', async () => {
    expect(tb.redis.port).not.toBe(6379);
    const redis = new Redis(tb.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await redis.config('GET', 'dir')).toEqual(['dir', join(tb.dir, 'redis')]);
    } finally {
      redis.disconnect();
    }
  });

  it('runs sshd that accepts the generated key, pins its host key and passes SLURM_CONF', async () => {
    const { stdout } = await exec('ssh', sshArgs('echo "$SLURM_CONF"; whoami'));
    expect(stdout.trim().split('\n')).toEqual([tb.slurm.confPath, tb.ssh.user]);
    const { stdout: fp } = await exec('ssh-keygen', [
      '-l',
      '-E',
      'sha256',
      '-F',
      `[127.0.0.1]:${tb.ssh.port}`,
      '-f',
      tb.ssh.knownHostsPath,
    ]);
    expect(fp).toContain(tb.ssh.fingerprint);
    expect(tb.ssh.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('refuses a password-less login with a key it does not know', async () => {
    const other = await mkdtemp(join(tb.dir, 'otherkey-'));
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other, 'k')]);
    const args = sshArgs('true');
    args[args.indexOf(tb.ssh.keyPath)] = join(other, 'k');
    await expect(exec('ssh', args)).rejects.toThrow(/Permission denied/);
  });

  it('runs a Slurm cluster that schedules and completes a batch job', async () => {
    const env = { ...process.env, ...tb.slurm.env };
    const { stdout: nodes } = await exec('sinfo', ['-h', '-N', '-o', '%N %T %P'], { env });
    expect(nodes.trim()).toMatch(new RegExp(`^localhost (idle|mixed|allocated) ${tb.slurm.partition}\\*?$`));
    const work = await mkdtemp(join(tb.dir, 'tbjob-'));
    const out = join(work, 'out.txt');
    const { stdout: id } = await exec(
      'sbatch',
      ['--parsable', '-o', out, '--wrap', 'echo hello from slurm'],
      { env },
    );
    expect(id.trim()).toMatch(/^\d+$/);
    const deadline = Date.now() + 30_000;
    let state = '';
    while (Date.now() < deadline) {
      const { stdout } = await exec('scontrol', ['show', 'job', '-o', id.trim()], { env });
      state = /JobState=(\S+)/.exec(stdout)?.[1] ?? '';
      if (state === 'COMPLETED' || state === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe('COMPLETED');
    expect(await readFile(out, 'utf8')).toBe('hello from slurm\n');
  });

  it('reaches the cluster over ssh too', async () => {
    const { stdout } = await exec('ssh', sshArgs('sinfo -h -o %P'));
    expect(stdout.trim()).toBe(`${tb.slurm.partition}*`);
  });

  it('starts a second full testbed beside the first and stops only what it started', async () => {
    const second = await startTestbed();
    const { dir, redis, ssh, slurm } = second.info;
    try {
      expect(dir).not.toBe(tb.dir);
      expect(redis.port).not.toBe(tb.redis.port);
      expect(ssh.port).not.toBe(tb.ssh.port);
      expect(await portOpen(redis.port)).toBe(true);
      // Two clusters side by side: a job on the second is not seen by the first.
      const env2 = { ...process.env, ...slurm.env };
      const { stdout: id } = await exec(
        'sbatch',
        ['--parsable', '--hold', '-J', 'second-only', '--wrap', 'true'],
        {
          env: env2,
        },
      );
      const { stdout: q2 } = await exec('squeue', ['-h', '-o', '%i %j'], { env: env2 });
      expect(q2).toContain(`${id.trim()} second-only`);
      const { stdout: q1 } = await exec('squeue', ['-h', '-o', '%j'], {
        env: { ...process.env, ...tb.slurm.env },
      });
      expect(q1).not.toContain('second-only');
    } finally {
      await second.stop();
    }
    expect(await portOpen(redis.port)).toBe(false);
    expect(await portOpen(ssh.port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    // The shared testbed is untouched.
    expect(await portOpen(tb.redis.port)).toBe(true);
    expect(await portOpen(tb.ssh.port)).toBe(true);
    const { stdout: nodes } = await exec('sinfo', ['-h', '-o', '%T'], {
      env: { ...process.env, ...tb.slurm.env },
    });
    expect(nodes.trim()).toMatch(/^(idle|mixed|allocated)$/);
  });

  it('names the Debian package when a program is missing', async () => {
    expect(() => requireBinaries({ 'no-such-program-xyz': 'fake-pkg', sh: 'dash' })).toThrow(
      /missing programs: no-such-program-xyz \(package fake-pkg\).*apt-get install -y fake-pkg/,
    );
  });

  it('refuses to hand out a service it did not start', async () => {
    const onlyRedis = await startTestbed({ redis: true, ssh: false, slurm: false });
    try {
      expect(() => onlyRedis.info.slurm.confPath).toThrow(/slurm was not started/);
      expect(() => onlyRedis.info.ssh.port).toThrow(/ssh was not started/);
      expect(onlyRedis.info.redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await onlyRedis.stop();
    }
  });
});
