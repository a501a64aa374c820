import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import { commandDeps, type TestDeps } from '../../helpers/command-deps.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

describe('Slack app over Socket Mode (real Bolt, local envelope server)', () => {
  let fake: FakeSlack;
  let bot: SlackBot;
  let deps: TestDeps;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    const base = await mkdtemp(join(tmpdir(), 'socket-ckpt-'));
    await mkdir(join(base, 'exp-s', 'global_step10'), { recursive: true });
    deps = commandDeps({
      transport: new LocalTransport(),
      env: {
        SLACK_MODE: 'socket',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_APP_TOKEN: 'xapp-test-token',
        SLACK_API_URL: fake.apiUrl,
        CHECKPOINTS_BASE_DIR: base,
      },
    });
    bot = slackBotFor(deps);
    await bot.start();
    await fake.connected();
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
  });

  it('opens the connection with the app token via apps.connections.open', () => {
    const open = fake.callsTo('apps.connections.open');
    expect(open.length).toBeGreaterThanOrEqual(1);
    expect(open[0]?.token).toBe('xapp-test-token');
  });

  it('acks a slash command envelope with its envelope_id, then answers through response_url', async () => {
    const responseUrl = fake.responseUrl('socket-1');
    const ack = await fake.sendSlashCommand({
      command: '/ckpt',
      text: 'list',
      user_id: 'U0READER',
      user_name: 'reader',
      channel_id: 'C0CHATOPS',
      response_url: responseUrl,
      trigger_id: '1.fake',
      team_id: 'T0FAKE',
      api_app_id: 'A0FAKEAPP',
    });
    expect(ack.envelopeId).toBeTruthy();
    expect(ack.ms).toBeLessThan(2500);
    const posted = await fake.waitFor(() => fake.responses.find((r) => r.id === 'socket-1'), 10_000, 'reply');
    expect(posted.body.response_type).toBe('in_channel');
    expect(JSON.stringify(posted.body.blocks)).toMatch(/exp-s\s+1\s+10/);
    expect(deps.audit.records.at(-1)).toMatchObject({
      user: 'U0READER',
      command: '/ckpt list',
      outcome: 'ok',
    });
  });

  it('connects straight to SLACK_SOCKET_URL when it is set', async () => {
    const opens = fake.callsTo('apps.connections.open').length;
    const other = commandDeps({
      env: {
        SLACK_MODE: 'socket',
        SLACK_BOT_TOKEN: 'xoxb-test-token',
        SLACK_APP_TOKEN: 'xapp-other-token',
        SLACK_API_URL: fake.apiUrl,
        SLACK_SOCKET_URL: fake.socketUrl,
      },
    });
    const second = slackBotFor(other);
    await second.start();
    try {
      await fake.waitFor(() => fake.connections === 2, 10_000, 'the second connection');
      expect(fake.callsTo('apps.connections.open')).toHaveLength(opens);
      const ack = await fake.sendSlashCommand({
        command: '/ckpt',
        text: 'help',
        user_id: 'U0READER',
        channel_id: 'C0CHATOPS',
        response_url: fake.responseUrl('socket-3'),
      });
      expect(ack.envelopeId).toBeTruthy();
      await fake.waitFor(() => fake.responses.find((r) => r.id === 'socket-3'), 10_000, 'reply');
    } finally {
      await second.stop();
    }
  });

  it('answers unknown subcommands ephemerally with the usage hint', async () => {
    const ack = await fake.sendSlashCommand({
      command: '/train',
      text: 'explode now',
      user_id: 'U0READER',
      channel_id: 'C0CHATOPS',
      response_url: fake.responseUrl('socket-2'),
    });
    expect(ack.envelopeId).toBeTruthy();
    const posted = await fake.waitFor(() => fake.responses.find((r) => r.id === 'socket-2'), 10_000, 'reply');
    expect(posted.body.response_type).toBe('ephemeral');
    expect(String(posted.body.text)).toMatch(/Unknown subcommand "explode" for \/train/);
  });
});
