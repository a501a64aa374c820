import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/sandbox/free-port.js';
import { startTestbed } from '../src/sandbox/testbed.js';
import { FakeSlack } from '../test/helpers/fake-slack.js';

// npm run bench -- startup
// The bot's process from spawn to ready — Slack connected (the fake Slack's Socket Mode hello answered: the
// bot logs "Slack bot connected") with every worker running (src/main.ts starts them first) — three ways,
// interleaved in rounds so the machine's load hits them alike:
//   node      `node -e 0`, the floor                                   → nodeMs
//   compiled  `node dist/src/main.js` (npm start)                      → readyMs, and its RSS after 5 s idle
//   tsx       `tsx src/main.ts` (TypeScript compiled at every start)   → readyMsTsx
// readyExtraMs = readyMs − nodeMs (goal ≤ 1000); idleRssMb (goal ≤ 100). Redis and Slurm are the testbed's,
// Slack is test/helpers/fake-slack.ts on 127.0.0.1.

const ROUNDS = Number(process.env.STARTUP_BENCH_ROUNDS ?? 5);
const IDLE_MS = 5_000;
const root = new URL('..', import.meta.url).pathname;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};

function nodeOnce(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', '0'], (err) => (err ? reject(err) : resolve(performance.now() - t0))),
  );
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Start the bot, resolve with ms to its "connected" line (and its RSS after IDLE_MS if asked), stop it. */
async function startOnce(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  fake: FakeSlack,
  measureRss: boolean,
): Promise<{ readyMs: number; rssMb?: number }> {
  await fake.waitFor(() => fake.connections === 0, 15_000, 'the previous bot to disconnect');
  const t0 = performance.now();
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c) => {
    err += String(c);
  });
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready after 60 s:\n${out}\n${err}`)), 60_000);
      child.stdout?.on('data', (c) => {
        out += String(c);
        if (out.includes('Slack bot connected')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bot exited with ${code} before it was ready:\n${out}\n${err}`));
      });
    });
    if (fake.connections < 1) throw new Error('the bot said connected, but the fake Slack has no connection');
    if (!measureRss || child.pid === undefined) return { readyMs };
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { readyMs, rssMb: await rssMb(child.pid) };
  } finally {
    await stop(child);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export default async function bench(): Promise<void> {
  // The build is not part of any timing.
  execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
  const tb = await startTestbed({ redis: true, slurm: true, ssh: false });
  const fake = await FakeSlack.start();
  const work = await mkdtemp(join(tmpdir(), 'bench-startup-'));
  const env = async (): Promise<NodeJS.ProcessEnv> => ({
    PATH: process.env.PATH ?? '',
    HOME: work,
    SLACK_BOT_TOKEN: 'xoxb-bench-startup',
    SLACK_APP_TOKEN: 'xapp-bench-startup',
    SLACK_API_URL: fake.apiUrl,
    REDIS_URL: tb.info.redis.url,
    CLUSTER_TRANSPORT: 'local',
    AUDIT_LOG: join(work, 'audit.jsonl'),
    CHECKPOINTS_BASE_DIR: work,
    LOGS_DIR: work,
    OPS_PORT: String(await freePort()),
    ...tb.info.slurm.env,
  });
  const node: number[] = [];
  const compiled: number[] = [];
  const tsx: number[] = [];
  const rss: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      node.push(await nodeOnce());
      const c = await startOnce(
        process.execPath,
        [join(root, 'dist/src/main.js')],
        await env(),
        work,
        fake,
        true,
      );
      compiled.push(c.readyMs);
      if (c.rssMb !== undefined) rss.push(c.rssMb);
      const t = await startOnce(
        join(root, 'node_modules/.bin/tsx'),
        [join(root, 'src/main.ts')],
        await env(),
        work,
        fake,
        false,
      );
      tsx.push(t.readyMs);
      console.log(
        `round ${r + 1}: node ${node.at(-1)?.toFixed(0)} ms, compiled ${c.readyMs.toFixed(0)} ms (${c.rssMb} MB idle), tsx ${t.readyMs.toFixed(0)} ms`,
      );
    }
  } finally {
    await fake.stop();
    await tb.stop();
    await rm(work, { recursive: true, force: true });
  }
  const nodeMs = Math.round(median(node));
  const readyMs = Math.round(median(compiled));
  const result = {
    nodeMs,
    readyMs,
    readyMsTsx: Math.round(median(tsx)),
    readyExtraMs: readyMs - nodeMs,
    idleRssMb: median(rss),
    rounds: ROUNDS,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
