import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RedisService, startRedis } from '../../../src/sandbox/redis.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import {
  type BotProcess,
  freePort,
  parsePrometheus,
  sampleValue,
  slash,
  startBot,
  waitForHttp,
} from './bot-process.js';

// The ops server of the real bot process (src/main.ts in HTTP mode) on its own Redis, so stopping that Redis
// touches nothing else: liveness, readiness with reasons, and the Prometheus metrics a scrape sees.

const tb = inject('testbed');
const SECRET = 'ops-signing-secret';

describe('the ops server (GET /healthz, /readyz, /metrics)', () => {
  let redis: RedisService;
  let fake: FakeSlack;
  let bot: BotProcess;
  let port: number;
  let opsUrl: string;
  beforeAll(async () => {
    const work = await mkdtemp(join(tb.dir, 'ops-'));
    redis = await startRedis(work, { name: 'redis-ops' });
    fake = await FakeSlack.start();
    // A real workspace: the channels exist and the bot is a member of them.
    fake.channel('C0CHATOPS', { member: true });
    port = await freePort();
    const opsPort = await freePort();
    opsUrl = `http://127.0.0.1:${opsPort}`;
    const base = join(work, 'ck');
    await mkdir(join(base, 'exp-ops', 'global_step7'), { recursive: true });
    await mkdir(join(work, 'logs', 'checkpoint_pipeline'), { recursive: true });
    bot = startBot(
      {
        SLACK_MODE: 'http',
        SLACK_BOT_TOKEN: 'xoxb-ops-test',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.apiUrl,
        PORT: String(port),
        OPS_PORT: String(opsPort),
        CLUSTER_TRANSPORT: 'local',
        CHECKPOINTS_BASE_DIR: base,
        LOGS_DIR: join(work, 'logs'),
        AUDIT_LOG: join(work, 'audit.jsonl'),
        REDIS_URL: redis.info.url,
        OPERATORS: 'U0OPS',
        SHUTDOWN_TIMEOUT_S: '5',
        ...tb.slurm.env,
      },
      work,
    );
    await waitForHttp(`${opsUrl}/healthz`, bot);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, bot);
  }, 180_000);
  afterAll(async () => {
    bot?.child.kill('SIGKILL');
    await fake?.stop();
    await redis?.daemon.stop();
  });

  it('is live, and ready with every check and its reason', async () => {
    const live = await fetch(`${opsUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('ok\n');
    const ready = await fetch(`${opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(body.ready).toBe(true);
    expect(body.checks).toEqual(
      expect.arrayContaining([
        { name: 'redis', ok: true, reason: 'PONG' },
        { name: 'cluster', ok: true, reason: 'local transport (the bot runs on the login node)' },
        { name: 'shutdown', ok: true, reason: 'running' },
      ]),
    );
    expect((await fetch(`${opsUrl}/nope`)).status).toBe(404);
  }, 30_000);

  it('counts commands by name and outcome, times acks, and shows the upload queue by state', async () => {
    expect(
      await slash(port, SECRET, {
        command: '/ckpt',
        text: 'list',
        user_id: 'U0OPS',
        response_url: fake.responseUrl('ops-list'),
      }),
    ).toBe(200);
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'ops-list'), 15_000, 'list reply');
    // An upload delayed for an hour: it sits in the queue as `delayed` for the scrape to see.
    await slash(port, SECRET, {
      command: '/ckpt',
      text: 'upload exp-ops test-org --steps 7 --upload-delay 3600',
      user_id: 'U0OPS',
      response_url: fake.responseUrl('ops-upload'),
    });
    const up = await fake.waitFor(
      () => fake.responses.find((r) => r.id === 'ops-upload'),
      15_000,
      'upload reply',
    );
    expect(JSON.stringify(up.body)).toContain('exp-ops');
    // Someone who is not an operator: refused, and counted as such.
    await slash(port, SECRET, {
      command: '/ckpt',
      text: 'upload exp-ops test-org --steps 7',
      user_id: 'U0NOBODY',
      response_url: fake.responseUrl('ops-refused'),
    });
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'ops-refused'), 15_000, 'refusal');

    const res = await fetch(`${opsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await res.text());
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    expect(v('chatops_commands_total', { command: 'ckpt list', outcome: 'ok' })).toBe(1);
    expect(v('chatops_commands_total', { command: 'ckpt upload', outcome: 'ok' })).toBe(1);
    expect(v('chatops_commands_total', { command: 'ckpt upload', outcome: 'refused' })).toBe(1);
    expect(v('chatops_queue_jobs', { queue: 'ckpt-upload', state: 'delayed' })).toBe(1);
    expect(v('chatops_queue_jobs', { queue: 'ckpt-upload', state: 'active' })).toBe(0);
    expect(v('chatops_queue_jobs', { queue: 'train-monitor', state: 'waiting' })).toBe(0);
    expect(v('chatops_training_watches_active')).toBe(0);
    expect(v('chatops_slack_ack_seconds_count', { kind: 'command' })).toBe(3);
    expect(v('chatops_commands_in_flight')).toBe(0);
    // Every metric of the contract is exposed, even before anything happened to it.
    const names = new Set(samples.map((s) => s.name));
    for (const n of ['chatops_commands_in_flight', 'chatops_training_watches_active'])
      expect(names).toContain(n);
  }, 60_000);

  it('is not ready while its Redis is down (503, naming Redis), yet stays live', async () => {
    await redis.daemon.stop();
    let body: { ready: boolean; checks: { name: string; ok: boolean; reason: string }[] } | undefined;
    let status = 0;
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${opsUrl}/readyz`);
      status = r.status;
      body = (await r.json()) as typeof body;
      if (status === 503) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(status).toBe(503);
    expect(body?.ready).toBe(false);
    const check = body?.checks.find((c) => c.name === 'redis');
    expect(check?.ok).toBe(false);
    expect(check?.reason).toMatch(/ECONNREFUSED|not connected|Connection is closed/);
    expect(body?.checks.find((c) => c.name === 'cluster')?.ok).toBe(true);
    expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200);
  }, 30_000);

  it('SIGTERM with Redis gone still exits within SHUTDOWN_TIMEOUT_S', async () => {
    const t0 = Date.now();
    bot.child.kill('SIGTERM');
    const code = await bot.exited;
    expect([0, 1]).toContain(code);
    expect(Date.now() - t0).toBeLessThan(5_000 + 5_000);
    expect(bot.lines().some((l) => l.msg === 'shutting down')).toBe(true);
  }, 30_000);
});
