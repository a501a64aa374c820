import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { createPromMetrics } from '../../../src/ops/prom-metrics.js';
import { createSlackMessenger, slackClientOptions } from '../../../src/slack/create-slack-messenger.js';
import { withSlackApiMetrics } from '../../../src/slack/slack-api-metrics.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { parsePrometheus, sampleValue } from './bot-process.js';

// Slack Web API calls counted by method and Slack's error code, against the loopback Slack that answers like
// the real one (ok, `ok: false` errors, 429 with Retry-After).

describe('Slack API call metrics', () => {
  let fake: FakeSlack;
  beforeAll(async () => {
    fake = await FakeSlack.start();
    // A real workspace: the channels exist and the bot is a member of them.
    fake.channel('C0METRICS', { member: true });
  });
  afterAll(async () => {
    await fake.stop();
  });

  const scrape = async (m: ReturnType<typeof createPromMetrics>) =>
    parsePrometheus(await m.registry.metrics());

  it('counts successes, platform errors and rate limits by method', async () => {
    const metrics = createPromMetrics();
    const config = { SLACK_API_URL: fake.apiUrl };
    const bot = withSlackApiMetrics(new WebClient('xoxb-metrics', slackClientOptions(config)), metrics);
    const anonymous = withSlackApiMetrics(new WebClient(undefined, slackClientOptions(config)), metrics);
    await bot.chat.postMessage({ channel: 'C0METRICS', text: 'one' });
    await bot.chat.postMessage({ channel: 'C0METRICS', text: 'two' });
    await expect(anonymous.auth.test()).rejects.toThrow(/not_authed/);
    fake.rateLimit('chat.update', { times: 1, retryAfter: 1 });
    await expect(bot.chat.update({ channel: 'C0METRICS', ts: '1.2', text: 'x' })).rejects.toThrow();

    const s = await scrape(metrics);
    const calls = (labels: Record<string, string>) => sampleValue(s, 'chatops_slack_api_calls_total', labels);
    expect(calls({ method: 'chat.postMessage', error: '' })).toBe(2);
    expect(calls({ method: 'auth.test', error: 'not_authed' })).toBe(1);
    expect(calls({ method: 'chat.update', error: 'ratelimited' })).toBe(1);
  }, 30_000);

  it('the messenger the bot builds counts its posts', async () => {
    const metrics = createPromMetrics();
    const messenger = createSlackMessenger(
      { SLACK_API_URL: fake.apiUrl, SLACK_BOT_TOKEN: 'xoxb-metrics' },
      silentLogger(),
      { metrics },
    );
    await messenger.post({ channel: 'C0METRICS' }, { text: 'hello', level: 'info' });
    await messenger.close();
    const s = await scrape(metrics);
    expect(sampleValue(s, 'chatops_slack_api_calls_total', { method: 'chat.postMessage', error: '' })).toBe(
      1,
    );
  }, 30_000);
});
