import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import { commandDeps, type TestDeps } from '../../helpers/command-deps.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

// The Socket Mode bot (real Bolt, our receiver) against the strict stand-in: refreshes, apps.connections.open
// failures, cut connections, redeliveries.

const socketEnv = (fake: FakeSlack, token = 'xapp-test-token') => ({
  SLACK_MODE: 'socket',
  SLACK_BOT_TOKEN: 'xoxb-test-token',
  SLACK_APP_TOKEN: token,
  SLACK_API_URL: fake.apiUrl,
});
const fastBackoff = { socket: { backoff: { minMs: 100, maxMs: 400 } } };

/** `/train` with an unknown subcommand: answered at once, without the cluster. */
function command(fake: FakeSlack, id: string) {
  return fake.sendSlashCommand({
    command: '/train',
    text: `explode ${id}`,
    user_id: 'U0READER',
    channel_id: 'C0CHATOPS',
    response_url: fake.responseUrl(id),
  });
}

describe('Socket Mode across refreshes and Slack-side failures', () => {
  let fake: FakeSlack;
  let bot: SlackBot;
  let deps: TestDeps;

  beforeAll(async () => {
    fake = await FakeSlack.start({ socket: { pingIntervalMs: 1_000 } });
    deps = commandDeps({ env: socketEnv(fake) });
    bot = slackBotFor(deps, fastBackoff);
    await bot.start();
    await fake.connected();
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.stop();
  });
  afterEach(async () => {
    // Each test leaves one connection up for the next.
    await fake.waitFor(() => fake.connections === 1, 10_000, 'one connection');
  });

  it('answers every command sent continuously across two refreshes exactly once, with no gap', async () => {
    const gapBefore = fake.socket.gapMs;
    const missingBefore = fake.socket.missingAcks.length;
    const ids: string[] = [];
    const acks: Promise<unknown>[] = [];
    let sending = true;
    let refreshing = false;
    let sentDuringRefresh = 0;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const id = `cont-${i}`;
        ids.push(id);
        acks.push(command(fake, id));
        if (refreshing) sentDuringRefresh++;
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const refresh = async (opts: { warning?: boolean }) => {
      refreshing = true;
      await fake.socket.refresh({ ...opts, closeAfterMs: 1_000 });
      refreshing = false;
    };
    await new Promise((r) => setTimeout(r, 300));
    await refresh({ warning: true });
    await new Promise((r) => setTimeout(r, 300));
    await refresh({});
    await new Promise((r) => setTimeout(r, 300));
    sending = false;
    await sender;
    // Commands went out between Slack's refresh_requested and its closing the old socket.
    expect(sentDuringRefresh).toBeGreaterThanOrEqual(4);

    const settled = await Promise.allSettled(acks);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(0);
    expect(fake.socket.undelivered).toHaveLength(0);
    await fake.waitFor(
      () => ids.every((id) => fake.responses.some((r) => r.id === id)),
      15_000,
      'an answer to every command',
    );
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ids) {
      const answers = fake.responses.filter((r) => r.id === id);
      expect(answers, id).toHaveLength(1);
      expect(String(answers[0]?.body.text)).toMatch(/Unknown subcommand "explode" for \/train/);
    }
    expect(fake.socket.missingAcks.length - missingBefore).toBe(0);
    expect(fake.socket.lateAcks).toHaveLength(0);
    expect(fake.socket.gapMs - gapBefore).toBe(0);
    expect(bot.connection().connected).toBe(true);
  }, 60_000);

  it('survives apps.connections.open answering 5xx, failing on the network and ok:false during a refresh', async () => {
    const opensBefore = fake.socket.opens.length;
    fake.socket.failOpen({ kind: 'http', status: 503 }, 2);
    fake.socket.failOpen({ kind: 'network' });
    fake.socket.failOpen({ kind: 'error', error: 'internal_error' });
    await fake.socket.refresh({ closeAfterMs: 100 });

    // Down while Slack keeps failing, and readiness says so.
    const down = await fake.waitFor(
      () => (bot.connection().connected ? undefined : bot.connection()),
      5_000,
      'the bot to report the disconnection',
    );
    expect(down.detail).toMatch(/^Slack disconnected since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z: /);
    await expect(command(fake, 'during-outage')).rejects.toThrow(/no Socket Mode connection/);

    await fake.waitFor(() => bot.connection().connected, 15_000, 'the bot to reconnect');
    expect(fake.socket.opens.slice(opensBefore).map((o) => o.answer)).toEqual([
      'http 503',
      'http 503',
      'network',
      'internal_error',
      'ok',
    ]);
    expect(bot.connection().detail).toMatch(/^Slack connected/);
    await command(fake, 'after-outage');
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'after-outage'), 10_000, 'the answer');
  }, 60_000);

  it('reconnects after the connection is cut without a close, after link_disabled and too_many_websockets', async () => {
    fake.socket.cutAll();
    await fake.waitFor(() => fake.connections === 1, 10_000, 'a new connection after the cut');
    await fake.socket.disconnectAll('link_disabled');
    await fake.waitFor(() => fake.connections === 1, 10_000, 'a new connection after link_disabled');
    await fake.socket.disconnectAll('too_many_websockets');
    await fake.waitFor(() => fake.connections === 1, 10_000, 'a new connection after too_many_websockets');
    await command(fake, 'after-cut');
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'after-cut'), 10_000, 'the answer');
  }, 30_000);

  it('acks a redelivered envelope without running the command again', async () => {
    const ack = await command(fake, 'dup-1');
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'dup-1'), 10_000, 'the first answer');
    const audited = deps.audit.records.length;
    const again = await fake.socket.redeliver(ack.envelopeId, 'timeout');
    expect(again.envelopeId).toBe(ack.envelopeId);
    expect(again.ms).toBeLessThan(3_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(fake.responses.filter((r) => r.id === 'dup-1')).toHaveLength(1);
    expect(deps.audit.records.length).toBe(audited);
  });

  it('runs a retry redelivered under a new envelope id once, and two first deliveries twice', async () => {
    const ack = await command(fake, 'dup-2');
    await fake.waitFor(() => fake.responses.find((r) => r.id === 'dup-2'), 10_000, 'the first answer');
    const again = await fake.socket.redeliver(ack.envelopeId, 'timeout', { newEnvelopeId: true });
    expect(again.envelopeId).not.toBe(ack.envelopeId);
    // The same command typed twice is two invocations, even with the same text.
    await command(fake, 'dup-3');
    await command(fake, 'dup-3');
    await fake.waitFor(
      () => fake.responses.filter((r) => r.id === 'dup-3').length === 2,
      10_000,
      'both answers',
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(fake.responses.filter((r) => r.id === 'dup-2')).toHaveLength(1);
  });
});

describe('Socket Mode over a link that goes silent', () => {
  it('drops a half-open connection that stops answering pings and opens another', async () => {
    const fake = await FakeSlack.start();
    const bot = slackBotFor(commandDeps({ env: socketEnv(fake) }), {
      socket: {
        timings: { pingIntervalMs: 200, silenceTimeoutMs: 1_000 },
        backoff: { minMs: 100, maxMs: 400 },
      },
    });
    try {
      await bot.start();
      await fake.connected();
      const opens = fake.socket.opens.length;
      fake.socket.freezeAll();
      await fake.waitFor(
        () => fake.socket.opens.length > opens && fake.connections === 1,
        10_000,
        'a new connection',
      );
      await command(fake, 'after-silence');
      await fake.waitFor(() => fake.responses.find((r) => r.id === 'after-silence'), 10_000, 'the answer');
      expect(bot.connection().connected).toBe(true);
    } finally {
      await bot.stop();
      await fake.stop();
    }
  }, 30_000);
});

describe('Socket Mode start-up', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await FakeSlack.start();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('keeps trying while apps.connections.open fails, then connects', async () => {
    fake.socket.failOpen({ kind: 'http', status: 500 }, 2);
    fake.socket.failOpen({ kind: 'network' });
    const bot = slackBotFor(commandDeps({ env: socketEnv(fake) }), fastBackoff);
    try {
      await bot.start();
      expect(bot.connection().connected).toBe(true);
      expect(fake.socket.opens.map((o) => o.answer)).toEqual(['http 500', 'http 500', 'network', 'ok']);
    } finally {
      await bot.stop();
    }
    expect(bot.connection()).toMatchObject({ connected: false });
  });

  it('refuses to start, saying why, when Slack refuses the app token', async () => {
    fake.socket.failOpen({ kind: 'error', error: 'invalid_auth' });
    const bot = slackBotFor(commandDeps({ env: socketEnv(fake, 'xapp-revoked') }), fastBackoff);
    try {
      await expect(bot.start()).rejects.toThrow(
        /apps\.connections\.open answered invalid_auth: SLACK_APP_TOKEN/,
      );
      expect(bot.connection().detail).toMatch(/^Slack disconnected since .*: not connected yet/);
    } finally {
      await bot.stop();
    }
  });
});
