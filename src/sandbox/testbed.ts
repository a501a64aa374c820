import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStragglers, registerDir, unregisterDir } from './daemon.js';
import { type RedisService, startRedis } from './redis.js';
import { type SlurmInfo, type SlurmService, slurmConfPath, startSlurm } from './slurm.js';
import { type SshInfo, type SshService, startSshd } from './sshd.js';

export interface TestbedInfo {
  /** The testbed's temp dir (everything it made lives here). */
  dir: string;
  /** Own redis-server, AOF on, noeviction. */
  redis: { host: '127.0.0.1'; port: number; url: string };
  /** Key-only sshd on loopback; fingerprint = 'SHA256:…' of its host key. */
  ssh: SshInfo;
  slurm: SlurmInfo;
}

export interface Testbed {
  info: TestbedInfo;
  /** Stop sshd and start it again on the same port and host key (`cut`: drop open connections too). */
  restartSshd(opts?: { cut?: boolean }): Promise<void>;
  /** Stop slurmctld and start it again on its saved state after `downMs` (jobs keep running meanwhile). */
  restartSlurmctld(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TestbedOptions {
  redis?: boolean;
  ssh?: boolean;
  slurm?: boolean;
}

const unused = <T>(what: string): T =>
  new Proxy({} as object, {
    get(_t, prop) {
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      throw new Error(`testbed: ${what} was not started (startTestbed({ ${what}: true }))`);
    },
  }) as T;

/**
 * Start real services on 127.0.0.1 in a fresh temp dir: no fixed ports or paths, so several testbeds can
 * run at once on one machine. stop() ends exactly the processes started here and removes the dir.
 */
export async function startTestbed(opts: TestbedOptions = {}): Promise<Testbed> {
  const want = { redis: opts.redis ?? true, ssh: opts.ssh ?? true, slurm: opts.slurm ?? true };
  const dir = await mkdtemp(join(tmpdir(), 'chatops-testbed-'));
  registerDir(dir);
  // Jobs and sshd sessions run as other users in some setups; let them read and write here.
  await chmod(dir, 0o755);

  let redis: RedisService | undefined;
  let ssh: SshService | undefined;
  let slurm: SlurmService | undefined;
  const stop = async () => {
    // Reverse start order; each stop only signals pids this testbed spawned.
    await ssh?.daemon.stop();
    await slurm?.stop();
    await redis?.daemon.stop();
    await killStragglers(dir);
    await rm(dir, { recursive: true, force: true });
    unregisterDir(dir);
  };

  try {
    const confPath = slurmConfPath(dir);
    // Independent services start concurrently; sshd only needs to know where slurm.conf will be.
    const [r, sl, s] = await Promise.allSettled([
      want.redis ? startRedis(dir) : Promise.resolve(undefined),
      want.slurm ? startSlurm(dir) : Promise.resolve(undefined),
      want.ssh ? startSshd(dir, want.slurm ? { SLURM_CONF: confPath } : {}) : Promise.resolve(undefined),
    ]);
    if (r.status === 'fulfilled') redis = r.value;
    if (sl.status === 'fulfilled') slurm = sl.value;
    if (s.status === 'fulfilled') ssh = s.value;
    const failures = [r, sl, s].filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failures.length > 0)
      throw new Error(failures.map((f) => String(f.reason?.message ?? f.reason)).join('\n'));
  } catch (e) {
    await stop();
    throw e;
  }

  const info: TestbedInfo = {
    dir,
    redis: redis?.info ?? unused('redis'),
    ssh: ssh?.info ?? unused('ssh'),
    slurm: slurm?.info ?? unused('slurm'),
  };
  return {
    info,
    async restartSshd(opts) {
      if (!ssh) throw new Error('testbed: ssh was not started');
      await ssh.restart(opts);
    },
    async restartSlurmctld(downMs?: number) {
      if (!slurm) throw new Error('testbed: slurm was not started');
      await slurm.restartController(downMs);
    },
    stop,
  };
}
