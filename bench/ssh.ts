import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SshTransport } from '../src/cluster/ssh/ssh-transport.js';
import { startTestbed } from '../src/sandbox/testbed.js';

// npm run bench -- ssh
// A trivial remote command (`true`) against the testbed's real sshd, timed per call, three ways:
//   pooled        — SshTransport: one ssh2 connection, a new channel per command
//   fresh         — a new SshTransport (new ssh2 connection + handshake + auth) per command
//   controlMaster — OpenSSH `ssh` through a ControlMaster/ControlPersist socket (the usual shell-script way)
// The three run interleaved in rounds so machine load hits them alike. Then 50 commands at once over the pool.

const N = Number(process.env.SSH_BENCH_N ?? 200);
const ROUNDS = 4;
const execFileP = promisify(execFile);

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};
const p90 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) * 0.9)] ?? Number.NaN;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export default async function bench(): Promise<void> {
  const tb = await startTestbed({ redis: false, slurm: false, ssh: true });
  const ssh = tb.info.ssh;
  const opts = {
    host: ssh.host,
    port: ssh.port,
    username: ssh.user,
    keyPath: ssh.keyPath,
    knownHostsPath: ssh.knownHostsPath,
  };
  const controlPath = join(tb.info.dir, 'cm-%C');
  const sshArgs = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${ssh.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${controlPath}`,
    '-o',
    'ControlPersist=120',
    '-i',
    ssh.keyPath,
    '-p',
    String(ssh.port),
    `${ssh.user}@${ssh.host}`,
  ];
  const pool = new SshTransport(opts);
  const ok = (r: { exitCode: number }) => {
    if (r.exitCode !== 0) throw new Error(`remote command failed with exit code ${r.exitCode}`);
  };
  const pooledOnce = async () => ok(await pool.run(['true']));
  const freshOnce = async () => {
    const t = new SshTransport(opts);
    try {
      ok(await t.run(['true']));
    } finally {
      void t.close();
    }
  };
  const cmOnce = async () => {
    await execFileP('ssh', [...sshArgs, 'true']);
  };

  const pooled: number[] = [];
  const fresh: number[] = [];
  const cm: number[] = [];
  try {
    // Warm up: the pool's connection, the ControlMaster socket, and the JIT on every path.
    for (let i = 0; i < 10; i++) {
      await pooledOnce();
      await cmOnce();
    }
    await freshOnce();

    const per = Math.ceil(N / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < per; i++) pooled.push(await timed(pooledOnce));
      for (let i = 0; i < per; i++) fresh.push(await timed(freshOnce));
      for (let i = 0; i < per; i++) cm.push(await timed(cmOnce));
    }

    const t0 = performance.now();
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => pool.run(['true'])));
    const concurrentMs = performance.now() - t0;
    const failures = settled.filter((s) => s.status === 'rejected' || s.value.exitCode !== 0);
    for (const f of failures)
      if (f.status === 'rejected') console.log('concurrent failure:', String(f.reason));

    const line = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(14)} n=${xs.length} p50=${p50(xs).toFixed(2)} ms p90=${p90(xs).toFixed(2)} ms`,
      );
    line('pooled', pooled);
    line('fresh ssh2', fresh);
    line('ControlMaster', cm);
    console.log(`50 at once over the pool: ${concurrentMs.toFixed(1)} ms, ${failures.length} failed`);

    const result = {
      pooledMsP50: round2(p50(pooled)),
      freshMsP50: round2(p50(fresh)),
      controlMasterMsP50: round2(p50(cm)),
      pooledVsFresh: round2(p50(fresh) / p50(pooled)),
      pooledVsControlMaster: round2(p50(pooled) / p50(cm)),
      concurrent50Failures: failures.length,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    await pool.close();
    // Stop the ControlMaster this benchmark started (it would otherwise persist for ControlPersist).
    await execFileP('ssh', [...sshArgs, '-O', 'exit']).catch(() => {});
    await tb.stop();
  }
}
