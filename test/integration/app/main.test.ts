import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';

const root = new URL('../../..', import.meta.url).pathname;
const tsx = join(root, 'node_modules/.bin/tsx');

function start(env: Record<string, string>, cwd: string) {
  const child = spawn(tsx, [join(root, 'src/main.ts')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', OPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c) => {
    out += String(c);
  });
  child.stderr?.on('data', (c) => {
    err += String(c);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => ({ out, err }) };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('npm start (src/main.ts)', () => {
  const tb = inject('testbed');
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tb.dir, 'main-'));
  });

  it('without Slack settings says exactly which are missing and points at the console', async () => {
    const p = start({ CLUSTER_TRANSPORT: 'local' }, work);
    expect(await p.exited).toBe(1);
    const { err } = p.output();
    expect(err).toContain('Socket Mode (SLACK_MODE=socket) needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN');
    expect(err).toContain('npx chatops console');
    const h = start({ CLUSTER_TRANSPORT: 'local', SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'xoxb-1' }, work);
    expect(await h.exited).toBe(1);
    expect(h.output().err).toContain(
      'HTTP mode (SLACK_MODE=http) needs SLACK_SIGNING_SECRET, which is not set',
    );
  }, 90_000);

  it('on bad settings lists every problem at once and starts nothing', async () => {
    const p = start({ SLACK_MODE: 'websocket', PORT: 'eighty', CLUSTER_TRANSPORT: 'local' }, work);
    expect(await p.exited).toBe(2);
    const { err } = p.output();
    expect(err).toMatch(/SLACK_MODE must be "socket" or "http"/);
    expect(err).toMatch(/PORT must be a port number/);
  }, 90_000);

  describe('running in HTTP mode', () => {
    let fake: FakeSlack;
    let proc: ReturnType<typeof start>;
    let port: number;
    let audit: string;
    beforeAll(async () => {
      fake = await FakeSlack.start();
      port = await freePort();
      const base = join(work, 'ck');
      await mkdir(join(base, 'exp-main', 'global_step7'), { recursive: true });
      audit = join(work, 'logs', 'audit.jsonl');
      proc = start(
        {
          SLACK_MODE: 'http',
          SLACK_BOT_TOKEN: 'xoxb-main-test',
          SLACK_SIGNING_SECRET: 'main-signing-secret',
          SLACK_API_URL: fake.apiUrl,
          PORT: String(port),
          CLUSTER_TRANSPORT: 'local',
          CHECKPOINTS_BASE_DIR: base,
          AUDIT_LOG: audit,
          REDIS_URL: tb.redis.url,
          ...tb.slurm.env,
        },
        work,
      );
      // Bounded wait for the listener (tsx compiles on first start; slow on a busy machine).
      for (const deadline = Date.now() + 80_000; Date.now() < deadline; ) {
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (proc.child.exitCode !== null) throw new Error(`the bot exited: ${proc.output().err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 90_000);
    afterAll(async () => {
      proc?.child.kill('SIGKILL');
      await fake?.stop();
    });

    it('serves slash commands, audits them, and shuts down cleanly on SIGTERM', async () => {
      const body = slashCommandBody({
        command: '/ckpt',
        text: 'list',
        user_id: 'U0MAIN',
        response_url: fake.responseUrl('main-1'),
      });
      const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
        method: 'POST',
        headers: signedHeaders('main-signing-secret', body),
        body,
      });
      expect(res.status).toBe(200);
      const posted = await fake.waitFor(() => fake.responses.find((r) => r.id === 'main-1'), 15_000, 'reply');
      expect(JSON.stringify(posted.body.blocks)).toMatch(/exp-main\s+1\s+7/);
      const record = JSON.parse((await readFile(audit, 'utf8')).trim().split('\n').at(-1) as string);
      expect(record).toMatchObject({
        user: 'U0MAIN',
        channel: 'C0CHATOPS',
        command: '/ckpt list',
        outcome: 'ok',
      });
      expect(record.argv[0][0]).toBe('find');
      expect(JSON.stringify(record)).not.toContain('xoxb-main-test');
      expect(proc.output().out).not.toContain('main-signing-secret');

      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output().out).toContain('stopped');
    }, 60_000);
  });
  describe('running in Socket Mode', () => {
    let fake: FakeSlack;
    let proc: ReturnType<typeof start>;
    beforeAll(async () => {
      fake = await FakeSlack.start();
      const base = join(work, 'ck-socket');
      await mkdir(join(base, 'exp-sock', 'global_step3'), { recursive: true });
      proc = start(
        {
          SLACK_BOT_TOKEN: 'xoxb-main-test',
          SLACK_APP_TOKEN: 'xapp-main-test',
          SLACK_API_URL: fake.apiUrl,
          CLUSTER_TRANSPORT: 'local',
          CHECKPOINTS_BASE_DIR: base,
          AUDIT_LOG: join(work, 'logs', 'audit-socket.jsonl'),
          REDIS_URL: tb.redis.url,
          ...tb.slurm.env,
        },
        work,
      );
      // tsx compiles on first start; slow on a busy machine.
      await fake.waitFor(
        () => fake.connections > 0 || proc.child.exitCode !== null,
        60_000,
        'the bot to connect',
      );
      if (proc.child.exitCode !== null) throw new Error(`the bot exited: ${proc.output().err}`);
    }, 90_000);
    afterAll(async () => {
      proc?.child.kill('SIGKILL');
      await fake?.stop();
    });

    it('keeps running when apps.connections.open fails during a refresh, reconnects, and answers', async () => {
      fake.socket.failOpen({ kind: 'http', status: 503 });
      fake.socket.failOpen({ kind: 'network' });
      fake.socket.failOpen({ kind: 'http', status: 502 });
      const opens = fake.socket.opens.length;
      await fake.socket.refresh({ closeAfterMs: 200 });
      await fake.waitFor(
        () =>
          proc.child.exitCode !== null || (fake.socket.opens.length >= opens + 4 && fake.connections === 1),
        30_000,
        'the bot to reconnect after three failures',
      );
      expect(proc.child.exitCode, proc.output().err).toBeNull();
      expect(fake.socket.opens.slice(opens).map((o) => o.answer)).toEqual([
        'http 503',
        'network',
        'http 502',
        'ok',
      ]);
      expect(proc.output().out).toContain('could not connect; retrying');

      await fake.sendSlashCommand({
        command: '/ckpt',
        text: 'list',
        user_id: 'U0MAIN',
        channel_id: 'C0CHATOPS',
        response_url: fake.responseUrl('main-socket-1'),
      });
      const posted = await fake.waitFor(
        () => fake.responses.find((r) => r.id === 'main-socket-1'),
        15_000,
        'reply',
      );
      expect(JSON.stringify(posted.body.blocks)).toMatch(/exp-sock\s+1\s+3/);

      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    }, 90_000);
  });
});
