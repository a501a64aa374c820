import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalHub, startLocalHub } from '../../../src/sandbox/local-hub.js';
import { layOutWorld, type SandboxWorld } from '../../../src/sandbox/sandbox-world.js';
import { buttonClickBody, FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';

// Two real bot processes (src/main.ts) on one Redis, one Slurm cluster and one fake Slack: they must act as
// one bot. Slack delivers each request to one of them in production; here the same click reaches both, and
// every background worker (training watch, uploads, digest cron) runs in both.

const root = new URL('../../..', import.meta.url).pathname;
const SECRET = 'replica-signing-secret';
const OPERATOR = 'U0OPERATOR';
// A Redis database of its own: the bot's key prefix is fixed, and other tests' bots share the testbed's Redis.
const REDIS_DB = 7;

interface Bot {
  readonly child: ChildProcess;
  readonly url: string;
  readonly audit: string;
  output(): string;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('two replicas on one Redis', () => {
  const tb = inject('testbed');
  let fake: FakeSlack;
  let hub: LocalHub;
  let world: SandboxWorld;
  let redis: Redis;
  const bots: Bot[] = [];

  const startBot = async (name: string, work: string): Promise<Bot> => {
    const port = await freePort();
    const audit = join(work, `audit-${name}.jsonl`);
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts')], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        SLACK_MODE: 'http',
        // Two replicas on one machine: the ops server's default port can be taken once only.
        OPS_PORT: '0',
        SLACK_BOT_TOKEN: 'xoxb-replica-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.apiUrl,
        PORT: String(port),
        REDIS_URL: `${tb.redis.url}/${REDIS_DB}`,
        CLUSTER_TRANSPORT: 'local',
        ...tb.slurm.env,
        NEOX_DIR: world.neoxDir,
        TRAIN_SBATCH: world.trainSbatch,
        PIPELINE_SBATCH: world.pipelineSbatch,
        CHECKPOINTS_BASE_DIR: world.checkpointsBaseDir,
        LOGS_DIR: world.logsDir,
        OPERATORS: OPERATOR,
        HF_ORG: 'replica-org',
        AUDIT_LOG: audit,
        DIGEST_CHANNEL: 'C0DIGEST',
        DIGEST_CRON: '*/2 * * * * *',
        WATCH_POLL_S: '1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c) => {
      out += String(c);
    });
    child.stderr?.on('data', (c) => {
      out += String(c);
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 2_400; i++) {
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (child.exitCode !== null) throw new Error(`replica ${name} exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { child, url, audit, output: () => out };
  };

  const post = async (bot: Bot, body: string) => {
    const res = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SECRET, body),
      body,
    });
    expect(res.status).toBe(200);
  };

  const slash = async (bot: Bot, command: string, text: string): Promise<Record<string, unknown>> => {
    const id = `cmd-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await post(
      bot,
      slashCommandBody({ command, text, user_id: OPERATOR, response_url: fake.responseUrl(id) }),
    );
    return (await fake.waitFor(() => fake.responses.find((r) => r.id === id), 60_000, `${command} ${text}`))
      .body;
  };

  const auditRecords = async (): Promise<{ command: string; outcome: string; argv: string[][] }[]> => {
    const out = [];
    for (const b of bots) {
      const text = await readFile(b.audit, 'utf8').catch(() => '');
      for (const l of text.split('\n')) if (l.trim()) out.push(JSON.parse(l));
    }
    return out;
  };

  beforeAll(async () => {
    const work = await mkdtemp(join(tb.dir, 'replicas-'));
    redis = new Redis(`${tb.redis.url}/${REDIS_DB}`);
    await redis.flushdb();
    fake = await FakeSlack.start();
    // A real workspace: the channels exist and the bot is a member of them.
    fake.channel('C0CHATOPS', { member: true });
    fake.channel('C0DIGEST', { member: true });
    // A Hub that never refuses: this test is about doing each thing once, not about pacing.
    hub = await startLocalHub({ limit: 1_000, windowMs: 60_000 });
    world = await layOutWorld(join(work, 'world'), {
      hubUrl: hub.url,
      org: 'replica-org',
      iterMs: 60,
      pipelineWorkMs: 200,
    });
    bots.push(await startBot('a', work), await startBot('b', work));
  }, 300_000);

  afterAll(async () => {
    for (const b of bots) b.child.kill('SIGKILL');
    await fake?.stop();
    await hub?.close();
    await redis?.quit();
  });

  it('one double click on "resubmit with this fix", reaching both replicas, submits once', async () => {
    const [a, b] = bots as [Bot, Bot];
    const submitted = await slash(a, '/train', 'submit configs/demo-resume.yml');
    const jobId = /Submitted training job (\d+)/.exec(String(submitted.text))?.[1];
    expect(jobId, String(submitted.text)).toBeDefined();

    // The watch (on whichever replica holds its job) diagnoses the missing checkpoint and offers the fix.
    const offer = await fake.waitFor(
      () =>
        fake
          .callsTo('chat.postMessage')
          .find((c) => JSON.stringify(c.params.blocks ?? '').includes('train.resubmit')),
      90_000,
      'the "resubmit with this fix" button',
    );
    const button = (
      offer.params.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[]
    )
      .flatMap((bl) => bl.elements ?? [])
      .find((e) => e.action_id === 'train.resubmit');
    expect(button?.value).toMatch(new RegExp(`^${jobId} iteration=\\d+$`));
    // The message the button sits on; both deliveries of the click name the same one.
    const messageTs = '1700000999.000100';

    const responseId = 'double-click';
    const body = buttonClickBody({
      user_id: OPERATOR,
      user_name: 'operator',
      message_ts: messageTs,
      message_text: 'fix',
      action_id: 'train.resubmit',
      value: button?.value,
      response_url: fake.responseUrl(responseId),
    });
    // The same click, delivered once to each replica at the same moment.
    await Promise.all([post(a, body), post(b, body)]);
    const replies = await fake.waitFor(
      () => {
        const r = fake.responses.filter((x) => x.id === responseId);
        return r.length >= 2 ? r : undefined;
      },
      60_000,
      'both replicas answering the click',
    );
    const texts = replies.map((r) => String(r.body.text));
    expect(texts.filter((t) => t === 'Already handled — one click is enough.')).toHaveLength(1);
    expect(texts.filter((t) => /Submitted training job \d+/.test(t))).toHaveLength(1);

    // Exactly one sbatch for the click, in either replica's audit log (its `started` record, then its outcome).
    const clicks = (await auditRecords()).filter((r) => r.command.startsWith('[button train.resubmit]'));
    expect(clicks.map((r) => r.outcome)).toEqual(['started', 'ok']);
    clicks.shift();
    expect(clicks[0]?.argv.filter((argv) => argv[0] === 'sbatch')).toHaveLength(1);

    // And the original job's watch thread was posted by one replica: one "Watching" message.
    expect(
      fake
        .callsTo('chat.postMessage')
        .filter((c) => String(c.params.text).includes(`Watching training job ${jobId}`)),
    ).toHaveLength(1);
  }, 240_000);

  it('every upload of a batch is done once with workers running in both replicas', async () => {
    const [a] = bots as [Bot, Bot];
    const queued = await slash(a, '/ckpt', 'upload demo --missing');
    expect(String(queued.text)).toMatch(/6/);
    await fake.waitFor(
      () =>
        fake.calls.find(
          (c) =>
            c.method.startsWith('chat.') && /All 6 uploads of `demo` finished/.test(String(c.params.text)),
        ),
      // Six pipeline runs one after another: about a minute here, several on a loaded machine.
      600_000,
      'the batch to finish',
    );
    // One closing message for the batch, whichever replica saw the last upload end.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(
      fake.calls.filter(
        (c) => c.method === 'chat.postMessage' && /All 6 uploads of `demo`/.test(String(c.params.text)),
      ),
    ).toHaveLength(1);
    const commits = hub.calls.filter((c) => c.kind === 'commit' && c.status === 200);
    const revisions = commits.map((c) => `${c.repo}@${c.revision}`);
    // Each checkpoint goes to two repos (the HF model and the NeoX checkpoint), each commit exactly once.
    expect(new Set(revisions).size).toBe(revisions.length);
    expect([...new Set(commits.map((c) => c.revision))].sort()).toEqual(
      [2000, 3000, 4000, 5000, 6000, 7000].map((s) => `global_step${s}`),
    );
    expect(revisions).toHaveLength(12);
    // One pipeline run per checkpoint: nothing was submitted twice.
    const logs = await readdir(join(world.logsDir, 'checkpoint_pipeline'));
    const demoRuns = [];
    for (const f of logs) {
      const text = await readFile(join(world.logsDir, 'checkpoint_pipeline', f), 'utf8');
      if (/^Experiment: demo$/m.test(text) && text.includes('Pipeline completed at')) demoRuns.push(f);
    }
    // The world holds past runs of demo's step 1000; this batch added one run per missing step.
    const stepsRun = await Promise.all(
      demoRuns.map(
        async (f) =>
          /Checkpoint: (\d+)/.exec(
            await readFile(join(world.logsDir, 'checkpoint_pipeline', f), 'utf8'),
          )?.[1],
      ),
    );
    const fresh = stepsRun.filter((s) => s !== '1000');
    expect(fresh.sort()).toEqual(['2000', '3000', '4000', '5000', '6000', '7000']);
  }, 660_000);

  it('the digest cron ticking every 2 s in both replicas posts one digest for the period', async () => {
    // By now both replicas have ticked for minutes' worth of slots; the period (the local day) got one post.
    const digests = fake
      .callsTo('chat.postMessage')
      .filter((c) => c.params.channel === 'C0DIGEST' && /digest/i.test(String(c.params.text)));
    expect(digests).toHaveLength(1);
    // Each slot was ticked by one replica only: as many "digest enqueued" lines in both logs together as
    // slots claimed in Redis (a tick may land between the two counts, hence the range).
    const slots = async () => (await redis.keys('chatops:cron:digest:*')).length;
    const before = await slots();
    const ticks = bots
      .map(
        (b) =>
          b
            .output()
            .split('\n')
            .filter((l) => l.includes('"digest enqueued"')).length,
      )
      .reduce((x, y) => x + y, 0);
    const after = await slots();
    expect(before).toBeGreaterThan(10);
    expect(ticks).toBeGreaterThanOrEqual(before - 1);
    expect(ticks).toBeLessThanOrEqual(after);
  });
});
