import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCommand, defineSubcommand } from '../../../commands/core/command.js';
import { Registry } from '../../../commands/core/registry.js';
import { commands } from '../../../commands/index.js';
import { ExperimentName } from '../../../src/args.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import * as z from '../../../src/zod.js';
import { commandDeps, RecordingTransport, type TestDeps } from '../../helpers/command-deps.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

const SECRET = 'test-signing-secret';

// Real cluster work through the real local transport: `sleep` for a slow command, `touch` for an operate one.
// The probe runs the test's audited transport itself (product commands are given typed services instead).
let deps: TestDeps;
const probeTransport = () => deps.transport;
const probe = defineCommand({
  name: 'probe',
  summary: 'test command',
  usageHint: 'slow | touch <experiment>',
  subcommands: [
    defineSubcommand({
      name: 'slow',
      summary: 'sleeps on the cluster',
      usage: '/probe slow <seconds>',
      help: 'test',
      permission: 'read',
      positionals: ['seconds'],
      args: z.object({ seconds: z.coerce.number().check(z.int(), z.gte(0), z.lte(10)) }),
      async run({ seconds }) {
        await probeTransport().run(['sleep', String(seconds)]);
        return { title: 'Slept', text: `slept ${seconds}s`, data: { seconds } };
      },
    }),
    defineSubcommand({
      name: 'touch',
      summary: 'touch a file',
      usage: '/probe touch <experiment>',
      help: 'test',
      permission: 'operate',
      positionals: ['experiment'],
      args: z.object({ experiment: ExperimentName }),
      async run({ experiment }) {
        await probeTransport().run(['touch', join(tmpdir(), experiment)]);
        return { text: `touched ${experiment}` };
      },
    }),
  ],
});

describe('Slack app over HTTP (real Bolt, signed requests, fake Slack API)', () => {
  let fake: FakeSlack;
  let bot: SlackBot;
  let transport: RecordingTransport;
  let url: string;
  let base: string;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    base = await mkdtemp(join(tmpdir(), 'slack-ckpt-'));
    await mkdir(join(base, 'exp-a', 'global_step100'), { recursive: true });
    await mkdir(join(base, 'exp-a', 'global_step200'), { recursive: true });
    await mkdir(join(base, 'exp-b', 'global_step50'), { recursive: true });
    transport = new RecordingTransport(new LocalTransport());
    deps = commandDeps({
      transport,
      registry: new Registry([...commands, probe]),
      env: {
        SLACK_MODE: 'http',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.apiUrl,
        OPERATORS: 'U0OPERATOR',
        CHECKPOINTS_BASE_DIR: base,
      },
    });
    bot = slackBotFor(deps, { port: 0 });
    const { port } = await bot.start();
    url = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
  });

  const send = async (
    text: string,
    opts: { user?: string; command?: string; ts?: number; secret?: string } = {},
  ) => {
    const responseUrl = fake.responseUrl();
    const body = slashCommandBody({
      command: opts.command ?? '/probe',
      text,
      user_id: opts.user ?? 'U0OPERATOR',
      response_url: responseUrl,
    });
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: signedHeaders(opts.secret ?? SECRET, body, opts.ts),
      body,
    });
    await res.arrayBuffer();
    const id = responseUrl.split('/').at(-1) as string;
    const reply = () =>
      fake.waitFor(() => fake.responses.find((r) => r.id === id), 15_000, `reply to ${text}`);
    return { status: res.status, ms: performance.now() - started, reply };
  };

  it('acks at once while a 5 s cluster command runs, then posts the result to response_url', async () => {
    const sent = Date.now();
    const r = await send('slow 5');
    expect(r.status).toBe(200);
    // Slack's limit is 3 s; typically a few ms here, with headroom for a loaded 2-core CI machine.
    expect(r.ms).toBeLessThan(2500);
    expect(fake.responses).toHaveLength(0);
    const posted = await r.reply();
    // The answer came after the 5 s cluster command, so the ack did not wait for it.
    expect(posted.at - sent).toBeGreaterThanOrEqual(4900);
    expect(posted.body.response_type).toBe('in_channel');
    expect(JSON.stringify(posted.body.blocks)).toContain('slept 5s');
    expect(transport.calls).toContainEqual(['sleep', '5']);
  }, 30_000);

  it('answers a real /ckpt list through response_url, rendered as Block Kit', async () => {
    const r = await send('list', { command: '/ckpt', user: 'U0READER' });
    expect(r.status).toBe(200);
    const posted = await r.reply();
    const blocks = posted.body.blocks as { type: string; text?: { text: string } }[];
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'Checkpoints' } });
    const table = blocks.find((b) => b.text?.text.startsWith('```'))?.text?.text ?? '';
    expect(table.replace(/```$/, '').split('\n').slice(2, 4)).toEqual([
      'exp-a       2            200',
      'exp-b       1            50',
    ]);
  });

  it('rejects a bad signature, a stale timestamp and a future timestamp with 401', async () => {
    const before = transport.calls.length;
    const now = Math.floor(Date.now() / 1000);
    expect((await send('slow 0', { secret: 'wrong-secret-value' })).status).toBe(401);
    expect((await send('slow 0', { ts: now - 6 * 60 })).status).toBe(401);
    expect((await send('slow 0', { ts: now + 6 * 60 })).status).toBe(401);
    const res = await fetch(url, { method: 'POST', body: 'command=/probe&text=slow+0' });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(transport.calls.length).toBe(before);
    expect(fake.responses.filter((p) => JSON.stringify(p.body).includes('slept 0s'))).toHaveLength(0);
  });

  it('refuses an operate command to a non-operator: ephemeral message, nothing run, audit written', async () => {
    const before = transport.calls.length;
    const audits = deps.audit.records.length;
    const r = await send('touch exp-x', { user: 'U0STRANGER' });
    expect(r.status).toBe(200);
    const posted = await r.reply();
    expect(posted.body.response_type).toBe('ephemeral');
    expect(String(posted.body.text)).toMatch(/operators only.*U0STRANGER is not in OPERATORS/);
    expect(transport.calls.length).toBe(before);
    expect(deps.audit.records.slice(audits)).toEqual([
      expect.objectContaining({
        user: 'U0STRANGER',
        command: '/probe touch exp-x',
        outcome: 'refused',
        argv: [],
      }),
    ]);
  });

  it('shows errors ephemerally with the usage line, and hostile text never runs anything', async () => {
    const before = transport.calls.length;
    for (const text of [
      'touch "x; rm -rf /"',
      'touch $(reboot)',
      'touch a&amp;&amp;b',
      `touch ${'x'.repeat(10_000)}`,
      'touch exp\nrm -rf /',
      'touch "unbalanced',
      'touch 実験🚀',
    ]) {
      const r = await send(text);
      expect(r.status).toBe(200);
      const posted = await r.reply();
      expect(posted.body.response_type).toBe('ephemeral');
      expect(JSON.stringify(posted.body.blocks)).toMatch(
        /Usage: \/probe (touch &lt;experiment&gt;|slow \| touch)|limit is 4000/,
      );
    }
    expect(transport.calls.length).toBe(before);
  });
});
