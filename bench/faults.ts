import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../src/sandbox/free-port.js';
import { type RedisService, startRedis } from '../src/sandbox/redis.js';
import { SANDBOX_DIGEST_CHANNEL, startSandbox } from '../src/sandbox/start-sandbox.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../test/helpers/fake-slack.js';

// npm run bench -- faults
// The compiled bot (node dist/src/main.js, as `npm start` runs it) on the sandbox — Slurm, sshd, the
// pipeline's sbatch, a local Hub — with its own Redis (AOF on), working through 30 checkpoint uploads of
// two experiments, while it is broken on purpose:
//   crashes  SIGKILL the bot FAULTS_KILLS times (default 10) at random moments, restarting it at once
//   redis    SIGKILL Redis once mid-queue and start it again on the same port and files
// with FAULTS_WATCHES (default 5) training jobs watched meanwhile, each with its 50-iteration report and
// its final state to post exactly once.
// Then it waits for the queue to drain and counts, from the audit log and the Hub's own record:
//   lostJobs              checkpoints without a commit at the end (never completed)
//   duplicateSubmissions  pipeline sbatch runs beyond one per checkpoint (no run fails here: the Hub's
//                         limit is out of reach)
//   duplicateCommits      accepted commits beyond one per repository and revision
//   recoverS              median seconds from a restart to the next pipeline submission (max in recoverMaxS)
//   redisRestartLost      checkpoints queued before the Redis kill without a commit at the end
//   doubledReports        50-iteration reports and final states posted more than once for a watch
//                         (FAULTS_SHOW=1 prints the doubled messages)
//   missingReports        the same, never posted
// The SSH, slurmctld and Slack outage cases and the injection count (see
// test/integration/faults/hostile-input.test.ts) are not part of this run: their fields are null.

const KILLS = Number(process.env.FAULTS_KILLS ?? 10);
const WATCHES = Number(process.env.FAULTS_WATCHES ?? 5);
const STEPS = 15;
const EXPERIMENTS = ['fault-a', 'fault-b'];
const SECRET = 'faults-signing-secret';
const OPERATOR = 'U0FAULTS';
const root = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? null;
};

interface LogLine {
  time: number;
  event?: string;
  experiment?: string;
  step?: number;
}

export default async function bench(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'bin/build-if-stale.js')], { stdio: 'inherit' });
  const sb = await startSandbox({ hubLimit: 1_000, hubWindowMs: 30_000, pipelineWorkMs: 6_000, iterMs: 700 });
  const fake = await FakeSlack.start();
  fake.channel('C0CHATOPS', { member: true });
  fake.channel(SANDBOX_DIGEST_CHANNEL, { member: true });
  // Its own Redis (AOF on), killed and started again on the same port and files.
  const redisPort = await freePort();
  let redis: RedisService | undefined;
  const startRedisHere = async () => {
    redis = await startRedis(sb.dir, { name: 'faults-redis', port: redisPort });
  };
  await startRedisHere();
  for (const experiment of EXPERIMENTS) {
    for (let s = 1; s <= STEPS; s++) {
      const d = join(sb.world.checkpointsBaseDir, experiment, `global_step${s * 100}`);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'mp_rank_00_model_states.pt'), Buffer.alloc(1024, 1));
    }
  }
  // One config per watch, each saving to its own directory (120 iterations at 0.7 s: ~85 s of training).
  const demo = await readFile(join(sb.world.neoxDir, 'configs', 'demo.yml'), 'utf8');
  const configs: string[] = [];
  for (let w = 1; w <= WATCHES; w++) {
    const path = join(sb.world.neoxDir, 'configs', `fault-watch-${w}.yml`);
    await writeFile(path, demo.replace(/demo-pretrain/g, `fault-watch-${w}`));
    await mkdir(join(sb.world.checkpointsBaseDir, `fault-watch-${w}`), { recursive: true });
    configs.push(path);
  }
  const auditPath = join(sb.dir, 'faults-audit.jsonl');
  // Every bot process appends its JSON log lines here: the upload events (`event: submitted`, …).
  const logPath = join(sb.dir, 'faults-bot.log');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    ...sb.settings,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    SLACK_MODE: 'http',
    SLACK_BOT_TOKEN: 'xoxb-faults',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    PORT: String(port),
    OPS_PORT: '0',
    OPERATORS: OPERATOR,
    AUDIT_LOG: auditPath,
    LOG_LEVEL: 'info',
  };
  let bot: ChildProcess | undefined;
  const startBot = async () => {
    const out = openSync(logPath, 'a');
    bot = spawn(process.execPath, [join(root, 'dist/src/main.js')], { env, stdio: ['ignore', out, out] });
    for (let i = 0; i < 600; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(50);
    }
    throw new Error('the bot did not start');
  };
  const slash = async (text: string, command = '/ckpt') => {
    const body = slashCommandBody({
      command,
      text,
      user_id: OPERATOR,
      response_url: fake.responseUrl(),
    });
    const r = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SECRET, body),
      body,
    });
    await r.arrayBuffer();
  };
  const logLines = async (): Promise<LogLine[]> =>
    (await readFile(logPath, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return []; // the line a SIGKILL cut short
        }
      });
  const submissions = async () =>
    (await logLines())
      .filter((l) => l.event === 'submitted')
      .map((l) => ({ at: l.time, name: `${l.experiment}:${l.step}` }));
  const committed = () => {
    const perRevision = new Map<string, number>();
    for (const c of sb.hub.calls) {
      if (c.kind !== 'commit' || c.status !== 200) continue;
      const k = `${c.repo}@${c.revision}`;
      perRevision.set(k, (perRevision.get(k) ?? 0) + 1);
    }
    return perRevision;
  };
  // A checkpoint is done when its model repository has the commit (the pipeline names repositories itself).
  const doneSteps = () => new Set([...committed().keys()].filter((k) => !k.split('@')[0]?.endsWith('-neox')));

  const recover: number[] = [];
  let killed = 0;
  let redisQueued = 0;
  try {
    await startBot();
    for (const e of EXPERIMENTS) await slash(`upload ${e} --all`);
    for (const c of configs) await slash(`submit ${c}`, '/train');
    const random = (a: number, b: number) => a + Math.random() * (b - a);
    for (let k = 0; k < KILLS; k++) {
      await sleep(random(3_000, 12_000));
      bot?.kill('SIGKILL');
      killed++;
      await sleep(200);
      const restartAt = Date.now();
      await startBot();
      if (doneSteps().size >= STEPS * EXPERIMENTS.length) break;
      // The next pipeline submission after the restart (bounded: the queue may already be drained).
      for (let i = 0; i < 1_200; i++) {
        const next = (await submissions()).find((s) => s.at >= restartAt);
        if (next) {
          recover.push((next.at - restartAt) / 1000);
          break;
        }
        if (doneSteps().size >= STEPS * EXPERIMENTS.length) break;
        await sleep(100);
      }
      console.log(
        `kill ${k + 1}: ${doneSteps().size} of ${STEPS * 2} done, recovered in ${recover.at(-1) ?? '-'} s`,
      );
    }
    // Redis, mid-queue: what was queued then must still be done at the end.
    redisQueued = STEPS * EXPERIMENTS.length - doneSteps().size;
    await sleep(1_500);
    if (redis) process.kill(redis.daemon.pid, 'SIGKILL');
    await redis?.daemon.exited;
    await sleep(3_000);
    await startRedisHere();
    const until = Date.now() + 15 * 60_000;
    const said = (re: RegExp) =>
      fake.callsTo('chat.postMessage').filter((c) => re.test(JSON.stringify(c.params))).length;
    // Every watch that started must post its final state (a submit that failed starts none).
    const settled = () =>
      doneSteps().size >= STEPS * EXPERIMENTS.length &&
      said(/ left the queue/) >= said(/Watching training job/);
    while (!settled() && Date.now() < until) await sleep(500);
    await sleep(3_000);
  } finally {
    bot?.kill('SIGKILL');
    await redis?.daemon.stop();
    await fake.stop();
    await sb.stop();
  }
  // What the channel saw of each watch: its 50-iteration report and its final state, once each.
  const posted = fake
    .callsTo('chat.postMessage')
    .map((c) => `${String(c.params.text ?? '')} ${JSON.stringify(c.params.blocks ?? '')}`);
  const jobIds = [
    ...new Set(
      posted.flatMap((t) => [...t.matchAll(/Watching training job (\d+)/g)].map((m) => m[1] as string)),
    ),
  ];
  let doubledReports = 0;
  let missingReports = WATCHES - jobIds.length;
  for (const id of jobIds) {
    for (const re of [
      new RegExp(`Job ${id}: \\d+\\+ iterations completed`),
      new RegExp(`Job ${id} left the queue`),
    ]) {
      const n = posted.filter((t) => re.test(t)).length;
      if (n > 1 && process.env.FAULTS_SHOW)
        console.log(posted.filter((t) => re.test(t)).map((t) => t.slice(0, 300)));
      if (n === 0) missingReports++;
      doubledReports += Math.max(0, n - 1);
    }
  }
  const perCheckpoint = new Map<string, number>();
  for (const s of await submissions()) perCheckpoint.set(s.name, (perCheckpoint.get(s.name) ?? 0) + 1);
  const lost = STEPS * EXPERIMENTS.length - doneSteps().size;
  const result = {
    // The kills made: fewer than FAULTS_KILLS when the work was all done first.
    kills: killed,
    lostJobs: lost,
    duplicateSubmissions: [...perCheckpoint.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    duplicateCommits: [...committed().values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    watches: jobIds.length,
    doubledReports,
    missingReports,
    redisRestartLost: Math.min(lost, redisQueued),
    recoverS: median(recover),
    recoverMaxS: recover.length > 0 ? Math.max(...recover) : null,
    sshRecoverMs: null,
    slurmctldRestartLost: null,
    slackOutageLost: null,
    injectionPayloads: null,
    injectionExecuted: null,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
