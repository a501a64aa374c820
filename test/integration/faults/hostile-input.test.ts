import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RedisService, startRedis } from '../../../src/sandbox/redis.js';
import { buttonClickBody, FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';
import { deliveries, hostileStrings } from '../../helpers/hostile-input.js';
import { type BotProcess, freePort, startBot, waitForHttp } from '../ops/bot-process.js';

// Hostile input through every way in — the real bot over Slack's HTTP requests and over Socket Mode, and
// the installed `chatops` CLI — with the cluster reached over real SSH. Every payload tries to run
// `touch <canary>` (command substitution, separators, newlines, option injection such as `--wrap=` as an
// operand, quotes) or to reach outside its root (traversal, a symlink out of the checkpoint root), or is
// just large, binary or unicode. The canary must never appear, every answer must be a clear message (never
// "Something went wrong"), and forged requests (no or a wrong signature, replayed or future-dated, a forged
// user or button) must be turned away.

const tb = inject('testbed');
const SECRET = 'hostile-signing-secret';
const OPERATOR = 'U0OPERATOR';
const READER = 'U0READER';

/** What a clear refusal or answer looks like: words, not a crash report. */
function expectClear(body: Record<string, unknown>, what: string): void {
  const text = `${String(body.text ?? '')}\n${JSON.stringify(body.blocks ?? '')}`;
  expect(text.trim().length, what).toBeGreaterThan(5);
  expect(text, what).not.toMatch(/Something went wrong|TypeError|ReferenceError|at .*\.js:\d+/);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (t: T, i: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((t, j) => fn(t, i + j)));
  }
}

describe('hostile input through Slack (HTTP, Socket Mode) and the CLI', () => {
  let work: string;
  let canary: string;
  let redis: RedisService;
  let fake: FakeSlack;
  let http: BotProcess;
  let socket: BotProcess;
  let port: number;
  let env: Record<string, string>;
  const counted = { http: 0, socket: 0, cli: 0 };

  beforeAll(async () => {
    work = await mkdtemp(join(tb.dir, 'hostile-'));
    canary = join(work, 'canary', 'pwned');
    await mkdir(join(work, 'canary'));
    redis = await startRedis(work, { name: 'redis-hostile' });
    fake = await FakeSlack.start();
    fake.channel('C0CHATOPS', { member: true });
    const ck = join(work, 'ck');
    await mkdir(join(ck, 'exp-a', 'global_step1'), { recursive: true });
    // A symlink out of the checkpoint root: nothing may follow it.
    await mkdir(join(work, 'outside', 'global_step1'), { recursive: true });
    await symlink(join(work, 'outside'), join(ck, 'escape'));
    await mkdir(join(work, 'logs', 'checkpoint_pipeline'), { recursive: true });
    await mkdir(join(work, 'neox', 'configs'), { recursive: true });
    await writeFile(join(work, 'neox', 'configs', 'ok.yml'), 'train_iters: 10\n');
    env = {
      SLACK_BOT_TOKEN: 'xoxb-hostile',
      SLACK_API_URL: fake.apiUrl,
      SLACK_SIGNING_SECRET: SECRET,
      CLUSTER_TRANSPORT: 'ssh',
      SSH_HOST: tb.ssh.host,
      SSH_PORT: String(tb.ssh.port),
      SSH_USER: tb.ssh.user,
      SSH_KEY_PATH: tb.ssh.keyPath,
      SSH_HOST_FINGERPRINT: tb.ssh.fingerprint,
      CHECKPOINTS_BASE_DIR: ck,
      LOGS_DIR: join(work, 'logs'),
      NEOX_DIR: join(work, 'neox'),
      AUDIT_LOG: join(work, 'audit.jsonl'),
      REDIS_URL: redis.info.url,
      OPERATORS: OPERATOR,
      CLI_OPERATORS: userInfo().username,
      OPS_PORT: '0',
      SHUTDOWN_TIMEOUT_S: '5',
    };
    port = await freePort();
    http = startBot({ ...env, SLACK_MODE: 'http', PORT: String(port) }, work);
    socket = startBot({ ...env, SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-hostile' }, work);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, http);
    await socket.waitForLine(/Slack bot connected/, 150_000);
  }, 200_000);

  afterAll(async () => {
    http?.child.kill('SIGKILL');
    socket?.child.kill('SIGKILL');
    await fake?.stop();
    await redis?.daemon.stop();
    console.log(`hostile payloads delivered: ${JSON.stringify(counted)}`);
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers, body }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  it('answers every hostile slash command over HTTP with a clear message, and runs none of it', async () => {
    const all = deliveries(canary);
    expect(all.length).toBeGreaterThanOrEqual(500);
    await inBatches(all, 8, async (d, i) => {
      const id = `http-${i}`;
      const body = slashCommandBody({
        ...d,
        user_id: i % 3 === 0 ? READER : OPERATOR,
        response_url: fake.responseUrl(id),
      });
      expect(await post(body, signedHeaders(SECRET, body)), `${d.command} ${d.text}`).toBe(200);
      counted.http++;
    });
    const replies = await fake.waitFor(
      () => {
        const got = new Map(fake.responses.filter((r) => r.id.startsWith('http-')).map((r) => [r.id, r]));
        return got.size >= all.length ? got : undefined;
      },
      240_000,
      'an answer to every payload',
    );
    all.forEach((d, i) => {
      const r = replies.get(`http-${i}`);
      expectClear(r?.body ?? {}, `${d.command} ${JSON.stringify(d.text.slice(0, 80))}`);
    });
    expect(existsSync(canary)).toBe(false);
  }, 300_000);

  it('answers every hostile slash command over Socket Mode the same way', async () => {
    const all = deliveries(canary);
    await inBatches(all, 8, async (d, i) => {
      const ack = await fake.sendSlashCommand({
        ...d,
        user_id: i % 3 === 0 ? READER : OPERATOR,
        user_name: 'someone',
        channel_id: 'C0CHATOPS',
        response_url: fake.responseUrl(`socket-${i}`),
        trigger_id: '1.fake',
        team_id: 'T0FAKE',
        api_app_id: 'A0FAKEAPP',
      });
      expect(ack.envelopeId).toBeTruthy();
      counted.socket++;
    });
    const replies = await fake.waitFor(
      () => {
        const got = new Map(fake.responses.filter((r) => r.id.startsWith('socket-')).map((r) => [r.id, r]));
        return got.size >= all.length ? got : undefined;
      },
      240_000,
      'an answer to every payload',
    );
    all.forEach((d, i) => {
      expectClear(
        replies.get(`socket-${i}`)?.body ?? {},
        `${d.command} ${JSON.stringify(d.text.slice(0, 80))}`,
      );
    });
    expect(existsSync(canary)).toBe(false);
  }, 300_000);

  it('refuses through the CLI with a message and a non-zero exit, running none of it', async () => {
    const root = new URL('../../..', import.meta.url).pathname;
    const bin = join(root, 'bin/chatops.cjs');
    // One of each payload, in a shape that reaches the cluster if it gets past validation.
    const shapes = ['train status', 'ckpt status', 'train cancel', 'ckpt upload'];
    // An argv cannot hold a NUL byte (execve ends the string there): those reach the CLI only through a shell.
    const runs = hostileStrings(canary)
      .filter((h) => !h.includes('\u0000'))
      .map((h, i) => [...(shapes[i % shapes.length] as string).split(' '), h]);
    await inBatches(runs, 2, async (argv) => {
      const r = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
        execFile(
          process.execPath,
          [bin, ...argv],
          { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work, ...env }, timeout: 60_000 },
          (err, out, errOut) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
        ),
      );
      const what = JSON.stringify(argv).slice(0, 120);
      expect(`${r.out}${r.err}`.trim().length, what).toBeGreaterThan(5);
      expect(r.err, what).not.toMatch(/Something went wrong|TypeError|at .*\.js:\d+/);
      counted.cli++;
    });
    expect(existsSync(canary)).toBe(false);
  }, 300_000);

  it('refuses a checkpoint directory that links out of the checkpoint root, naming where it leads', async () => {
    for (const text of ['upload escape team --all', 'upload escape team', 'status escape']) {
      const id = `escape-${text.replaceAll(' ', '-')}`;
      const body = slashCommandBody({
        command: '/ckpt',
        text,
        user_id: OPERATOR,
        response_url: fake.responseUrl(id),
      });
      expect(await post(body, signedHeaders(SECRET, body))).toBe(200);
      const r = await fake.waitFor(
        () => fake.responses.find((x) => x.id === id),
        30_000,
        `the answer to ${text}`,
      );
      const said = `${String(r.body.text ?? '')} ${JSON.stringify(r.body.blocks ?? '')}`;
      expect(said, text).toContain('is a symbolic link to');
      expect(said, text).toContain(join(work, 'outside'));
      expect(said, text).not.toMatch(/Queued/);
    }
  }, 60_000);

  it('turns away unsigned, wrongly signed, replayed and future-dated requests', async () => {
    const body = slashCommandBody({
      command: '/train',
      text: 'list',
      user_id: OPERATOR,
      response_url: fake.responseUrl('forged'),
    });
    const now = Math.floor(Date.now() / 1000);
    expect(await post(body, { 'content-type': 'application/x-www-form-urlencoded' })).toBe(401);
    expect(await post(body, signedHeaders('not-the-secret', body))).toBe(401);
    expect(await post(body, signedHeaders(SECRET, body, now - 10 * 60))).toBe(401);
    expect(await post(body, signedHeaders(SECRET, body, now + 10 * 60))).toBe(401);
    // A body changed after signing.
    const headers = signedHeaders(SECRET, body);
    expect(await post(body.replace('text=list', 'text=cancel+1'), headers)).toBe(401);
    counted.http += 5;
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.responses.filter((r) => r.id === 'forged')).toEqual([]);
  });

  it('refuses forged buttons: a reader pressing an operator button, a job the bot never saw, a bad value', async () => {
    const click = (user: string, action_id: string, value: string, id: string) => {
      const body = buttonClickBody({
        user_id: user,
        message_ts: '1700000000.000100',
        action_id,
        value,
        response_url: fake.responseUrl(id),
      });
      counted.http++;
      return post(body, signedHeaders(SECRET, body));
    };
    const cases: [string, string, string, RegExp][] = [
      [READER, 'train.cancel', '12345', /operators only/],
      [READER, 'train.resubmit', '12345 iteration=100', /operators only/],
      [OPERATOR, 'train.resubmit', '424242 iteration=100', /no record of job 424242/],
      [OPERATOR, 'train.cancel', `1;touch ${canary}`, /not valid/],
      [OPERATOR, 'train.resubmit', `$(touch ${canary}) iteration=1`, /not valid/],
      [OPERATOR, 'no.such.action', '1', /Unknown action/],
    ];
    for (const [i, [user, action, value]] of cases.entries()) {
      expect(await click(user, action, value, `button-${i}`), `${action} ${value}`).toBe(200);
    }
    for (const [i, [, action, value, want]] of cases.entries()) {
      const r = await fake.waitFor(
        () => fake.responses.find((x) => x.id === `button-${i}`),
        30_000,
        `${action} ${value}`,
      );
      expect(String(r.body.text), `${action} ${value}`).toMatch(want);
    }
    expect(existsSync(canary)).toBe(false);
    // Nothing was submitted or cancelled on the cluster by any of it.
    const audit = (await readFile(join(work, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ran = audit
      .flatMap((r: { argv: string[][] }) => r.argv)
      .filter((a: string[]) => ['sbatch', 'scancel'].includes(a[0] ?? ''));
    expect(ran).toEqual([]);
  }, 120_000);
});
