import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { ChartRenderer } from '../charts/chart-png.js';
import { lazyChartRenderer } from '../charts/lazy-chart-renderer.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { boltLogger } from './bolt-logger.js';
import { ChannelPacer } from './channel-pacer.js';
import { withSlackApiMetrics } from './slack-api-metrics.js';
import { SlackMessenger } from './slack-messenger.js';

/** The Web API client settings the bot and its messenger share. */
export function slackClientOptions(config: Pick<Config, 'SLACK_API_URL'>): WebClientOptions {
  return {
    slackApiUrl: config.SLACK_API_URL,
    // Our per-channel pacer handles 429s; the client's global queue would stall every channel instead.
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
  };
}

/**
 * The Slack messenger, built by the composition root with the process's Redis and before the features and
 * the bot, so background work is given a messenger at construction. It has its own Web API client.
 */
export function createSlackMessenger(
  config: Pick<Config, 'SLACK_API_URL' | 'SLACK_BOT_TOKEN' | 'DIGEST_CHANNEL'>,
  log: Logger,
  opts: {
    readonly pacer?: ChannelPacer;
    readonly chartRenderer?: ChartRenderer;
    /** The process's Redis (the workspace-wide edit budget, long button payloads) and its key prefix. */
    readonly redis?: Redis;
    readonly keyPrefix?: string;
    readonly metrics?: Metrics;
  } = {},
): SlackMessenger {
  const client = withSlackApiMetrics(
    new WebClient(config.SLACK_BOT_TOKEN, { ...slackClientOptions(config), logger: boltLogger(log) }),
    opts.metrics,
  );
  return new SlackMessenger(
    client,
    opts.pacer ?? new ChannelPacer({ log }),
    log,
    opts.chartRenderer ?? lazyChartRenderer(),
    {
      ...(opts.redis ? { redis: opts.redis } : {}),
      ...(opts.keyPrefix ? { keyPrefix: opts.keyPrefix } : {}),
      ...(config.DIGEST_CHANNEL ? { fallbackChannel: config.DIGEST_CHANNEL } : {}),
    },
  );
}
