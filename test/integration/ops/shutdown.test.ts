import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { type BotProcess, freePort, slash, startBot, waitForHttp } from './bot-process.js';

// The bounded graceful stop of the real bot process: the steps in order, a command in flight holding the
// stop until SHUTDOWN_TIMEOUT_S (then an exit naming what was open), and a second signal exiting at once.
// A cluster that accepts TCP but never speaks SSH keeps a command in flight as long as the test needs.

const tb = inject('testbed');
const SECRET = 'shutdown-signing-secret';

describe('bounded graceful shutdown (SHUTDOWN_TIMEOUT_S)', () => {
  let work: string;
  let fake: FakeSlack;
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();
  let accepted = 0;
  const bots: BotProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tb.dir, 'shutdown-'));
    await mkdir(join(work, 'ck', 'exp-s', 'global_step1'), { recursive: true });
    fake = await FakeSlack.start();
    silent = createServer((s) => {
      accepted++;
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const b of bots) b.child.kill('SIGKILL');
    await Promise.all(bots.map((b) => b.exited));
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    await fake.stop();
  });

  const boot = async (env: Record<string, string>) => {
    const port = await freePort();
    const opsPort = await freePort();
    const bot = startBot(
      {
        SLACK_MODE: 'http',
        SLACK_BOT_TOKEN: 'xoxb-shutdown',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.apiUrl,
        PORT: String(port),
        OPS_PORT: String(opsPort),
        CHECKPOINTS_BASE_DIR: join(work, 'ck'),
        LOGS_DIR: join(work, 'logs'),
        AUDIT_LOG: join(work, 'audit.jsonl'),
        REDIS_URL: tb.redis.url,
        ...tb.slurm.env,
        ...env,
      },
      work,
    );
    bots.push(bot);
    await waitForHttp(`http://127.0.0.1:${opsPort}/healthz`, bot);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, bot);
    return { bot, port, opsPort };
  };
  /** SSH settings pointing at the silent server (a real key and pin, so the settings are valid). */
  const silentCluster = () => ({
    CLUSTER_TRANSPORT: 'ssh',
    SSH_HOST: '127.0.0.1',
    SSH_PORT: String(silentPort),
    SSH_USER: tb.ssh.user,
    SSH_KEY_PATH: tb.ssh.keyPath,
    SSH_HOST_FINGERPRINT: tb.ssh.fingerprint,
  });
  const stuckCommand = async (port: number, bot: BotProcess) => {
    const before = accepted;
    await slash(port, SECRET, {
      command: '/ckpt',
      text: 'list',
      user_id: 'U0SHUT',
      response_url: fake.responseUrl(),
    });
    // The command is on its way to the cluster, which will not answer.
    for (let i = 0; i < 100 && accepted === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toBeGreaterThan(before);
    expect(bot.child.exitCode).toBeNull();
  };

  it('SIGTERM stops in order — cron, Slack intake, commands, workers and connections, ops server — and exits 0', async () => {
    const { bot, opsPort } = await boot({ CLUSTER_TRANSPORT: 'local', SHUTDOWN_TIMEOUT_S: '20' });
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    // In the order they happened (pino's asynchronous stdout writes may reach the pipe out of order).
    const steps = bot
      .lines()
      .sort((a, b) => Number(a.time) - Number(b.time))
      .map((l) => String(l.msg))
      .filter((m) => m === 'shutting down' || m.startsWith('stopped'));
    expect(steps).toEqual([
      'shutting down',
      'stopped: cron',
      'stopped: Slack intake',
      'stopped: commands in flight',
      'stopped: workers, queues, Redis and SSH',
      'stopped: ops server',
      'stopped',
    ]);
    await expect(fetch(`http://127.0.0.1:${opsPort}/healthz`)).rejects.toThrow();
  }, 180_000);

  it('a command still in flight when SHUTDOWN_TIMEOUT_S passes: exits 1 anyway, naming what was open', async () => {
    const { bot, port, opsPort } = await boot({ ...silentCluster(), SHUTDOWN_TIMEOUT_S: '2' });
    await stuckCommand(port, bot);
    // Readiness turns false as soon as the stop begins.
    bot.child.kill('SIGTERM');
    await bot.waitForLine('shutting down');
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    expect([503, 0]).toContain(ready);
    const t0 = Date.now();
    expect(await bot.exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2_000 + 5_000);
    const timedOut = bot.lines().find((l) => String(l.msg).startsWith('shutdown did not finish within 2 s'));
    expect(timedOut?.open).toEqual(
      expect.arrayContaining(['commands in flight', 'workers, queues, Redis and SSH']),
    );
    expect(timedOut?.level).toBe(50);
  }, 180_000);

  it('a second signal exits at once', async () => {
    const { bot, port } = await boot({ ...silentCluster(), SHUTDOWN_TIMEOUT_S: '60' });
    await stuckCommand(port, bot);
    bot.child.kill('SIGTERM');
    await bot.waitForLine('shutting down');
    await new Promise((r) => setTimeout(r, 300));
    expect(bot.child.exitCode).toBeNull();
    const t0 = Date.now();
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(143);
    // At once: well before the 60 s the stop would otherwise wait (a loaded machine needs a margin).
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(bot.lines().find((l) => l.msg === 'second signal: exiting now')?.open).toContain(
      'commands in flight',
    );
  }, 180_000);
});
