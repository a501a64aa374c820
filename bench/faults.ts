import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../src/sandbox/free-port.js';
import { type RedisService, startRedis } from '../src/sandbox/redis.js';
import { SANDBOX_DIGEST_CHANNEL, startSandbox } from '../src/sandbox/start-sandbox.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../test/helpers/fake-slack.js';
import { deliveries } from '../test/helpers/hostile-input.js';

// npm run bench -- faults
// The compiled bot (node dist/src/main.js, as `npm start` runs it) on the sandbox — Slurm, sshd, the
// pipeline's sbatch, a local Hub — with its own Redis (AOF on), broken on purpose in two waves.
// Wave 1: 30 checkpoint uploads of two experiments and FAULTS_WATCHES (default 5) watched training jobs,
//   crashes  SIGKILL the bot FAULTS_KILLS times (default 10) at random moments, restarting it at once
//   redis    SIGKILL Redis once mid-queue and start it again on the same port and files
// Wave 2: a second replica joins over Socket Mode; 10 more uploads and 2 more watches, ~650 hostile slash
// commands (test/helpers/hostile-input.ts) sent meanwhile, and, one after another:
//   ssh      sshd restarted with every open connection cut (SIGKILL of the processes serving them)
//   slurm    slurmctld restarted (3 s down) on its saved state
//   slack    chat.postMessage rate limited (429, Retry-After), then every Web API call 503 for 20 s, with
//            a Socket Mode refresh during it whose apps.connections.open fails
// Then it waits for all work to drain and counts, from the bot's log, the Hub's record and what Slack saw:
//   lostJobs              checkpoints without a commit at the end (never completed)
//   strayCommits          commits of anything nobody asked for (a hostile upload that got through)
//   duplicateSubmissions  pipeline sbatch runs beyond one per checkpoint (no run fails here: the Hub's
//                         limit is out of reach)
//   duplicateCommits      accepted commits beyond one per repository and revision
//   recoverS              median seconds from a restart to the next pipeline submission (max in recoverMaxS)
//   redisRestartLost      checkpoints queued before the Redis kill without a commit at the end
//   doubledReports        50-iteration reports and final states posted more than once for a watch, and
//                         batch closing replies posted more than once (FAULTS_SHOW=1 prints them)
//   missingReports        the same, never posted
//   sshRecoverMs          from sshd back to the first good `/train list` answer
//   slurmctldRestartLost  wave 2's uploads without a commit and its watches' reports never posted
//   slackOutageLost       wave 2's notifications (watch reports, each batch's closing reply and its
//                         message's last edit) missing after the outage; slackOutageBotExits counts
//                         bot processes that died meanwhile (0: the process stays up)
//   injectionPayloads     hostile slash commands answered; injectionExecuted: canary files that appeared

const KILLS = Number(process.env.FAULTS_KILLS ?? 10);
const WATCHES = Number(process.env.FAULTS_WATCHES ?? 5);
const STEPS = 15;
const EXPERIMENTS = ['fault-a', 'fault-b'];
const WAVE2 = 'fault-c';
const WAVE2_STEPS = 10;
const WAVE2_WATCHES = 2;
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
  execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
  const sb = await startSandbox({
    hubLimit: 1_000,
    hubWindowMs: 30_000,
    pipelineWorkMs: 10_000,
    iterMs: 700,
  });
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
  const layOut = async (experiment: string, steps: number) => {
    for (let s = 1; s <= steps; s++) {
      const d = join(sb.world.checkpointsBaseDir, experiment, `global_step${s * 100}`);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'mp_rank_00_model_states.pt'), Buffer.alloc(1024, 1));
    }
  };
  for (const experiment of EXPERIMENTS) await layOut(experiment, STEPS);
  await layOut(WAVE2, WAVE2_STEPS);
  // What the hostile payloads aim at: a symlink out of the checkpoint root, and a canary dir per payload.
  await mkdir(join(sb.dir, 'outside', 'global_step1'), { recursive: true });
  await symlink(join(sb.dir, 'outside'), join(sb.world.checkpointsBaseDir, 'escape'));
  const canaries = join(sb.dir, 'canaries');
  await mkdir(canaries);
  // One config per watch, each saving to its own directory (120 iterations at 0.7 s: ~85 s of training).
  const demo = await readFile(join(sb.world.neoxDir, 'configs', 'demo.yml'), 'utf8');
  const configs: string[] = [];
  for (let w = 1; w <= WATCHES + WAVE2_WATCHES; w++) {
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
  const spawnBot = (extra: NodeJS.ProcessEnv = {}) => {
    const out = openSync(logPath, 'a');
    return spawn(process.execPath, [join(root, 'dist/src/main.js')], {
      env: { ...env, ...extra },
      stdio: ['ignore', out, out],
    });
  };
  let bot: ChildProcess | undefined;
  const startBot = async () => {
    bot = spawnBot();
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
  let replica: ChildProcess | undefined;
  const slash = async (text: string, command = '/ckpt', id?: string) => {
    const body = slashCommandBody({
      command,
      text,
      user_id: OPERATOR,
      response_url: fake.responseUrl(id),
    });
    const r = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SECRET, body),
      body,
    });
    await r.arrayBuffer();
  };
  const answer = (id: string) => fake.responses.find((r) => r.id === id)?.body;
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
  const doneOf = (experiment: string) => [...doneSteps()].filter((k) => k.includes(experiment)).length;
  const wave1Done = () => EXPERIMENTS.every((e) => doneOf(e) >= STEPS);
  // What Slack kept: a message is posted when the fake stored it (a 503 or 429 stored nothing).
  const stored = () => [...fake.messages.values()].map((m) => `${m.text} ${JSON.stringify(m.blocks)}`);
  const said = (re: RegExp) => stored().filter((t) => re.test(t)).length;

  const recover: number[] = [];
  let killed = 0;
  let redisQueued = 0;
  let sshRecoverMs: number | null = null;
  let injectionPayloads = 0;
  const botExits: string[] = [];
  // The processes that died on their own before the end (the bench's own kills come after).
  const exited: string[] = [];
  try {
    await startBot();
    for (const e of EXPERIMENTS) await slash(`upload ${e} --all`);
    for (const c of configs.slice(0, WATCHES)) await slash(`submit ${c}`, '/train');
    const random = (a: number, b: number) => a + Math.random() * (b - a);
    for (let k = 0; k < KILLS; k++) {
      await sleep(random(3_000, 10_000));
      bot?.kill('SIGKILL');
      killed++;
      await sleep(200);
      const restartAt = Date.now();
      await startBot();
      // The next pipeline submission after the restart (bounded: the queue may already be drained).
      for (let i = 0; i < 1_200 && !wave1Done(); i++) {
        const next = (await submissions()).find((s) => s.at >= restartAt);
        if (next) {
          recover.push((next.at - restartAt) / 1000);
          break;
        }
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
    console.log(`redis restarted with ${redisQueued} checkpoints still to upload`);

    // Wave 2: a Socket Mode replica joins, then more work, hostile input, and the SSH, Slurm, Slack faults.
    replica = spawnBot({
      SLACK_MODE: 'socket',
      SLACK_APP_TOKEN: 'xapp-faults',
      PORT: String(await freePort()),
    });
    for (const [name, child] of [
      ['http', bot],
      ['socket', replica],
    ] as const) {
      child?.once('exit', (code, signal) => botExits.push(`${name} ${code ?? signal}`));
    }
    for (let i = 0; i < 600 && fake.socket.connections === 0 && replica.exitCode === null; i++)
      await sleep(100);
    if (fake.socket.connections === 0) {
      const tail = (await readFile(logPath, 'utf8')).split('\n').slice(-15).join('\n');
      throw new Error(`the Socket Mode replica did not connect:\n${tail}`);
    }
    await slash(`upload ${WAVE2} --all`);
    for (const c of configs.slice(WATCHES)) {
      await fake.sendSlashCommand({
        command: '/train',
        text: `submit ${c}`,
        user_id: OPERATOR,
        channel_id: 'C0CHATOPS',
        response_url: fake.responseUrl(),
      });
    }
    const hostile = (async () => {
      const all = deliveries(join(canaries, 'pwned'));
      for (let i = 0; i < all.length; i += 8) {
        await Promise.all(
          all.slice(i, i + 8).map(async (d, j) => {
            const n = i + j;
            // Each payload its own canary: a count of files is a count of payloads that ran.
            const text = d.text.replaceAll(join(canaries, 'pwned'), join(canaries, `pwned-${n}`));
            await slash(text, d.command, `hostile-${n}`).catch(() => {});
          }),
        );
      }
      return all.length;
    })();
    await sleep(8_000);
    // SSH: sshd restarted with every connection cut, mid-whatever the bot was running.
    const sshCut = Date.now();
    await sb.restartSshd({ cut: true });
    const sshBack = Date.now();
    for (let i = 0; i < 600 && sshRecoverMs === null; i++) {
      const id = `ssh-${i}`;
      await slash('list', '/train', id);
      for (let w = 0; w < 100 && !answer(id); w++) await sleep(50);
      const text = JSON.stringify(answer(id) ?? '');
      if (/Queue/.test(text) && !/could not|failed|lost|unreachable/i.test(text))
        sshRecoverMs = Date.now() - sshBack;
      else await sleep(200);
    }
    console.log(
      `ssh: a good /train list ${sshRecoverMs} ms after sshd was back (${sshBack - sshCut} ms after the cut)`,
    );
    await sleep(5_000);
    // Slurm: the controller restarted while the uploads and watches run.
    await sb.restartSlurmctld(3_000);
    console.log('slurmctld restarted');
    await sleep(5_000);
    // Slack: rate limited, then down for 20 s, with a Socket Mode refresh whose reconnects fail meanwhile.
    fake.rateLimit('chat.postMessage', { times: 6, retryAfter: 2 });
    await sleep(4_000);
    fake.outage(20_000);
    await fake.socket.refresh().catch(() => {});
    await sleep(20_000);
    console.log(`slack outage over: ${JSON.stringify(Object.fromEntries(fake.outageAnswers))}`);
    injectionPayloads = await hostile;

    const until = Date.now() + 15 * 60_000;
    // Every watch that started must post its final state (a submit that failed starts none), and every
    // batch its closing reply.
    const settled = () =>
      doneSteps().size >= STEPS * EXPERIMENTS.length + WAVE2_STEPS &&
      said(/ left the queue/) >= said(/Watching training job/) &&
      said(/All \d+ uploads of/) >= EXPERIMENTS.length + 1;
    while (!settled() && Date.now() < until) await sleep(500);
    await sleep(5_000);
    exited.push(...botExits);
  } finally {
    bot?.kill('SIGKILL');
    replica?.kill('SIGKILL');
    await redis?.daemon.stop();
    await fake.stop();
  }
  const injectionExecuted = (await readdir(canaries)).length;
  await sb.stop();
  // What the channel kept of each watch: its 50-iteration report and its final state, once each.
  const kept = stored();
  const watchIds = (from: number) =>
    [
      ...new Set(
        kept.flatMap((t) =>
          [...t.matchAll(/Watching training job (\d+)/g)].map((m) => Number(m[1] as string)),
        ),
      ),
    ]
      .sort((a, b) => a - b)
      .slice(from);
  const count = (ids: readonly number[]) => {
    let doubled = 0;
    let missing = 0;
    for (const id of ids) {
      for (const re of [
        new RegExp(`Job ${id}: \\d+\\+ iterations completed`),
        new RegExp(`Job ${id} left the queue`),
      ]) {
        const n = kept.filter((t) => re.test(t)).length;
        if (n > 1 && process.env.FAULTS_SHOW)
          console.log(kept.filter((t) => re.test(t)).map((t) => t.slice(0, 300)));
        if (n === 0) missing++;
        doubled += Math.max(0, n - 1);
      }
    }
    return { doubled, missing };
  };
  const allWatches = watchIds(0);
  const wave2Watches = watchIds(WATCHES);
  const watchCounts = count(allWatches);
  const wave2Counts = count(wave2Watches);
  // Each batch: one closing reply, and its message's last edit showing every upload.
  const batches = [...EXPERIMENTS, WAVE2].map((e) => {
    const closing = kept.filter((t) => t.includes(`uploads of \`${e}\` finished`)).length;
    const steps = e === WAVE2 ? WAVE2_STEPS : STEPS;
    const final = kept.some((t) => t.includes(`Uploads of ${e}: ${steps}/${steps} uploaded`));
    return { e, closing, final };
  });
  const batchDoubled = batches.reduce((n, b) => n + Math.max(0, b.closing - 1), 0);
  const batchMissing = batches.filter((b) => b.closing === 0).length;
  const wave2Batch = batches.find((b) => b.e === WAVE2);
  const perCheckpoint = new Map<string, number>();
  for (const s of await submissions()) perCheckpoint.set(s.name, (perCheckpoint.get(s.name) ?? 0) + 1);
  const expected = [...EXPERIMENTS.map((e) => [e, STEPS] as const), [WAVE2, WAVE2_STEPS] as const];
  const lost = expected.reduce((n, [e, steps]) => n + Math.max(0, steps - doneOf(e)), 0);
  // Commits of anything nobody asked for (a hostile upload that got through, say).
  // (the pipeline names a checkpoint's repository `<org>/<prefix>-<experiment>`, its revision the step).
  const strayCommits = [...doneSteps()].filter(
    (k) => !expected.some(([e]) => new RegExp(`[/-]${e}@`).test(k)),
  );
  const wave2Lost = WAVE2_STEPS - doneOf(WAVE2);
  const result = {
    kills: killed,
    lostJobs: lost,
    duplicateSubmissions: [...perCheckpoint.values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    duplicateCommits: [...committed().values()].reduce((n, c) => n + Math.max(0, c - 1), 0),
    strayCommits: strayCommits.length,
    watches: allWatches.length,
    doubledReports: watchCounts.doubled + batchDoubled,
    missingReports: watchCounts.missing + batchMissing + (WATCHES + WAVE2_WATCHES - allWatches.length) * 2,
    redisRestartLost: Math.min(lost, redisQueued),
    recoverS: median(recover),
    recoverMaxS: recover.length > 0 ? Math.max(...recover) : null,
    sshRecoverMs,
    slurmctldRestartLost: wave2Lost + wave2Counts.missing + (WAVE2_WATCHES - wave2Watches.length) * 2,
    slackOutageLost:
      wave2Counts.missing + batches.filter((b) => b.closing === 0).length + (wave2Batch?.final ? 0 : 1),
    slackOutageBotExits: exited.length,
    injectionPayloads,
    injectionExecuted,
  };
  if (strayCommits.length > 0) console.log(`commits nobody asked for: ${strayCommits.join(', ')}`);
  if (exited.length > 0) console.log(`bot processes that exited: ${exited.join(', ')}`);
  console.log(`batches: ${JSON.stringify(batches)}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
}
