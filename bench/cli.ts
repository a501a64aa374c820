import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestbed } from '../src/sandbox/testbed.js';

// npm run bench -- cli
// The installed CLI (bin/chatops.cjs over dist/) as a user runs it, each a fresh process:
//   help      `chatops help`                     vs `node -e 0`      → helpVsNode (goal ≤ 2)
//   scan      `chatops train scan-log <fixture>` vs `node -e 0`      → scanVsNode (goal ≤ 2)
//   list      `chatops train list` over SSH      vs one `ssh <testbed> squeue` (OpenSSH, a new connection
//             each time, no ControlMaster)                         → listVsSsh (goal ≤ 1.5)
// Medians of interleaved rounds, so the machine's load hits every command alike.

const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 15);
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/chatops.cjs');
const fixture = join(root, 'test/fixtures/neox/cuda_oom.log');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Wall time of one process from spawn to exit; fails on a non-zero exit. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, cwd, timeout: 60_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(performance.now() - t0);
    });
  });
}

export default async function bench(): Promise<void> {
  // The build is not part of any timing.
  execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
  const tb = await startTestbed({ redis: false, slurm: true, ssh: true });
  const work = await mkdtemp(join(tmpdir(), 'bench-cli-'));
  const ssh = tb.info.ssh;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: work,
    SSH_HOST: ssh.host,
    SSH_PORT: String(ssh.port),
    SSH_USER: ssh.user,
    SSH_KEY_PATH: ssh.keyPath,
    SSH_KNOWN_HOSTS: ssh.knownHostsPath,
    // Nothing listens there: a command that tried Redis would fail the run.
    REDIS_URL: 'redis://127.0.0.1:9',
    AUDIT_LOG: join(work, 'audit.jsonl'),
  };
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
    '-i',
    ssh.keyPath,
    '-p',
    String(ssh.port),
    `${ssh.user}@${ssh.host}`,
    'squeue',
  ];
  const runs = {
    node: () => timed(process.execPath, ['-e', '0'], env, work),
    help: () => timed(process.execPath, [bin, 'help'], env, work),
    scan: () => timed(process.execPath, [bin, 'train', 'scan-log', fixture], env, work),
    list: () => timed(process.execPath, [bin, 'train', 'list'], env, work),
    ssh: () => timed('ssh', sshArgs, env, work),
  };
  const times: Record<keyof typeof runs, number[]> = { node: [], help: [], scan: [], list: [], ssh: [] };
  try {
    // Warm the file cache and sshd once.
    for (const run of Object.values(runs)) await run();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, run] of Object.entries(runs) as [keyof typeof runs, () => Promise<number>][]) {
        times[name].push(await run());
      }
    }
  } finally {
    await tb.stop();
    await rm(work, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof runs,
    number
  >;
  for (const [k, v] of Object.entries(m))
    console.log(`${k.padEnd(5)} median ${v.toFixed(0)} ms over ${ROUNDS} runs`);
  const result = {
    nodeMs: Math.round(m.node),
    helpMs: Math.round(m.help),
    scanMs: Math.round(m.scan),
    listMs: Math.round(m.list),
    sshMs: Math.round(m.ssh),
    helpVsNode: round2(m.help / m.node),
    scanVsNode: round2(m.scan / m.node),
    listVsSsh: round2(m.list / m.ssh),
    rounds: ROUNDS,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
