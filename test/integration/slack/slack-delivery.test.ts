import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, defineCommand, defineSubcommand } from '../../../commands/core/command.js';
import { Registry } from '../../../commands/core/registry.js';
import { ResvgChartRenderer } from '../../../src/charts/chart-png.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { silentLogger } from '../../../src/logger.js';
import { ChannelPacer } from '../../../src/slack/channel-pacer.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import { SlackMessenger } from '../../../src/slack/slack-messenger.js';
import * as z from '../../../src/zod.js';
import { commandDeps, RecordingTransport, type TestDeps } from '../../helpers/command-deps.js';
import { buttonClickBody, FakeSlack, signedHeaders } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

const SECRET = 'delivery-signing-secret';

describe('outbound pacing per channel', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await FakeSlack.start();
    for (const c of ['C0BUSY', 'C0QUIET', 'C0CHART', 'C0ORDER']) fake.channel(c, { member: true });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  const messenger = () => {
    // Built like the bot builds it: the client rejects 429s so that only this channel waits.
    const client = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    return new SlackMessenger(client, new ChannelPacer({ minIntervalMs: 1000 }), silentLogger());
  };

  it('honours Retry-After in a rate-limited channel without stalling the others', async () => {
    const m = messenger();
    fake.rateLimit('chat.postMessage', { channel: 'C0BUSY', retryAfter: 2 });
    const t0 = Date.now();
    const busy = m.post({ channel: 'C0BUSY' }, { text: 'to the busy channel' }).then(() => Date.now() - t0);
    const quiet = m
      .post({ channel: 'C0QUIET' }, { text: 'to the quiet channel' })
      .then(() => Date.now() - t0);
    const [busyMs, quietMs] = await Promise.all([busy, quiet]);
    // Relative, not absolute: the quiet channel must not wait out the busy one's Retry-After.
    expect(quietMs).toBeLessThan(busyMs - 1000);
    expect(busyMs).toBeGreaterThanOrEqual(2000);
    const busyCalls = fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'C0BUSY');
    expect(busyCalls).toHaveLength(2); // the 429, then the retry
  });

  it('uploads a chart as a PNG in the message thread (files.uploadV2), with a text sparkline in the message', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true });
    const m = new SlackMessenger(
      client,
      new ChannelPacer({ minIntervalMs: 10 }),
      silentLogger(),
      new ResvgChartRenderer(),
    );
    const points = Array.from({ length: 50 }, (_, i) => [i * 10, 8 - Math.log1p(i)] as const);
    const posted = await m.post(
      { channel: 'C0CHART' },
      {
        title: 'Loss',
        chart: { kind: 'line', title: 'lm_loss', xLabel: 'iteration', series: [{ name: 'lm_loss', points }] },
      },
    );
    const msg = fake.callsTo('chat.postMessage').find((c) => c.params.channel === 'C0CHART');
    expect(JSON.stringify(msg?.params.blocks)).toContain('lm_loss: █');
    const complete = await fake.waitFor(
      () => fake.callsTo('files.completeUploadExternal')[0],
      10_000,
      'upload',
    );
    expect(complete.params).toMatchObject({ channel_id: 'C0CHART', thread_ts: posted.ts });
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]?.data.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(fake.uploads[0]?.bytes).toBeGreaterThan(5000);
    if (process.env.CHART_PNG_OUT) await writeFile(process.env.CHART_PNG_OUT, fake.uploads[0]?.data ?? '');
  });

  it('sends at most one message per second to one channel, in order', async () => {
    const m = messenger();
    const root = await m.post({ channel: 'C0ORDER' }, { text: 'root' });
    const before = fake.callsTo('chat.postMessage').length;
    await Promise.all(
      [1, 2, 3].map((i) => m.post({ channel: 'C0ORDER', threadTs: root.ts }, { text: `update ${i}` })),
    );
    const calls = fake.callsTo('chat.postMessage').slice(before);
    expect(calls.map((c) => c.params.text)).toEqual(['update 1', 'update 2', 'update 3']);
    expect(calls.every((c) => c.params.thread_ts === root.ts)).toBe(true);
    for (let i = 1; i < calls.length; i++) {
      expect((calls[i]?.at ?? 0) - (calls[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    }
  }, 15_000);
});

describe('buttons for destructive actions', () => {
  let fake: FakeSlack;
  let bot: SlackBot;
  let deps: TestDeps;
  let transport: RecordingTransport;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'buttons-'));
    const remove = defineCommand({
      name: 'probe',
      summary: 'test',
      usageHint: 'remove <name>',
      subcommands: [
        defineSubcommand({
          name: 'remove',
          summary: 'asks before creating a marker file',
          usage: '/probe remove <name>',
          help: 'test',
          permission: 'read',
          positionals: ['name'],
          args: z.object({ name: z.string().check(z.regex(/^[a-z]+$/)) }),
          async run({ name }) {
            return {
              text: `Really act on ${name}?`,
              buttons: [
                {
                  actionId: 'probe.remove',
                  label: 'Yes',
                  value: name,
                  style: 'danger',
                  confirm: { title: 'Sure?', text: `Act on ${name}`, confirm: 'Do it', deny: 'No' },
                },
              ],
            };
          },
        }),
      ],
      actions: [
        defineAction({
          id: 'probe.remove',
          permission: 'operate',
          value: z.string().check(z.regex(/^[a-z]+$/)),
          async run(name) {
            await deps.transport.run(['mkdir', join(dir, name)]);
            return { level: 'ok', text: `Done: ${name}` };
          },
        }),
      ],
    });
    fake = await FakeSlack.start();
    transport = new RecordingTransport(new LocalTransport());
    deps = commandDeps({
      transport,
      registry: new Registry([remove]),
      env: {
        SLACK_MODE: 'http',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.apiUrl,
        OPERATORS: 'U0OPERATOR',
      },
    });
    bot = slackBotFor(deps, { port: 0 });
    url = `http://127.0.0.1:${(await bot.start()).port}/slack/events`;
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
  });

  const click = async (user: string, value: string, messageTs: string) => {
    const responseUrl = fake.responseUrl();
    const body = buttonClickBody({
      user_id: user,
      message_ts: messageTs,
      message_text: 'Really?',
      action_id: 'probe.remove',
      value,
      response_url: responseUrl,
    });
    const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
    expect(res.status).toBe(200);
    const id = responseUrl.split('/').at(-1);
    return (await fake.waitFor(() => fake.responses.find((r) => r.id === id), 10_000, 'action reply')).body;
  };

  it('renders the button with its confirm dialog', async () => {
    const body = new URLSearchParams({
      command: '/probe',
      text: 'remove alpha',
      user_id: 'U0OPERATOR',
      channel_id: 'C0CHATOPS',
      response_url: fake.responseUrl('render-1'),
    }).toString();
    await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
    const posted = await fake.waitFor(() => fake.responses.find((r) => r.id === 'render-1'), 10_000, 'reply');
    const actions = (posted.body.blocks as { type: string; elements?: unknown[] }[]).find(
      (b) => b.type === 'actions',
    );
    expect(actions?.elements?.[0]).toMatchObject({
      type: 'button',
      action_id: 'probe.remove',
      value: 'alpha',
      style: 'danger',
      confirm: { title: { text: 'Sure?' }, confirm: { text: 'Do it' }, deny: { text: 'No' } },
    });
  });

  it('refuses a non-operator click, runs nothing, keeps the buttons', async () => {
    const r = await click('U0STRANGER', 'alpha', '100.1');
    expect(r.response_type).toBe('ephemeral');
    expect(r.replace_original).toBe(false);
    expect(String(r.text)).toMatch(/operators only/);
    expect(transport.calls).toEqual([]);
    expect(deps.audit.records.at(-1)).toMatchObject({ user: 'U0STRANGER', outcome: 'refused' });
  });

  it('acts once on a double click and replaces the message', async () => {
    const [a, b] = await Promise.all([
      click('U0OPERATOR', 'beta', '200.1'),
      click('U0OPERATOR', 'beta', '200.1'),
    ]);
    const bodies = [a, b];
    expect(bodies.filter((x) => x.replace_original === true)).toHaveLength(1);
    expect(bodies.filter((x) => String(x.text).includes('Already handled'))).toHaveLength(1);
    expect(transport.calls).toEqual([['mkdir', join(dir, 'beta')]]);
    expect(await readdir(dir)).toEqual(['beta']);
  });

  it('validates the value coming back from Slack like user input', async () => {
    const r = await click('U0OPERATOR', '../../etc', '300.1');
    expect(String(r.text)).toMatch(/value is not valid/);
    expect(transport.calls).toHaveLength(1);
  });
});
