import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, type RespondFn, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Invoker } from '../../commands/core/dispatch.js';
import { type DispatchDeps, dispatchAction, dispatchText } from '../../commands/core/dispatch.js';
import type { Services } from '../../commands/core/services.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Messenger } from '../messenger.js';
import type { Reply } from '../reply.js';
import { boltLogger } from './bolt-logger.js';
import { ChannelPacer } from './channel-pacer.js';
import { ResvgChartRenderer } from './chart-png.js';
import { renderBlocks } from './render-blocks.js';
import { isFreshTimestamp } from './request-freshness.js';
import { type ChartRenderer, SlackMessenger } from './slack-messenger.js';

export interface SlackBotOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Everything the dispatcher needs except the messenger, which the bot supplies. */
  readonly deps: Omit<DispatchDeps, 'services'> & { readonly services: Omit<Services, 'messenger'> };
  /** HTTP mode: listen here instead of config.PORT (tests pass 0 for any free port). */
  readonly port?: number;
  readonly pacer?: ChannelPacer;
  readonly chartRenderer?: ChartRenderer;
}

export interface SlackBot {
  readonly app: App;
  readonly messenger: Messenger;
  /** HTTP mode: the port listened on. */
  start(): Promise<{ port?: number }>;
  stop(): Promise<void>;
}

/** Slack's `&`, `<`, `>` arrive HTML-escaped in command text; users meant the characters. */
export function decodeSlackText(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

export function createSlackBot(opts: SlackBotOptions): SlackBot {
  const { config, log } = opts;
  const logger = boltLogger(log);
  const clientOptions: WebClientOptions = {
    slackApiUrl: config.SLACK_API_URL,
    // Our per-channel pacer handles 429s; the client's global queue would stall every channel instead.
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
  };
  let app: App;
  let server: Server | undefined;
  let receiver: HTTPReceiver | undefined;

  if (config.SLACK_MODE === 'http') {
    receiver = new HTTPReceiver({
      signingSecret: config.SLACK_SIGNING_SECRET ?? '',
      endpoints: '/slack/events',
      logger,
      // Ack as soon as the listener calls ack(), not after it finishes.
      processBeforeResponse: false,
    });
    app = new App({ token: config.SLACK_BOT_TOKEN, receiver, logger, clientOptions });
  } else {
    const socketClientOptions: WebClientOptions = config.SLACK_SOCKET_URL
      ? { ...clientOptions, fetch: socketUrlOverride(config.SLACK_SOCKET_URL) }
      : clientOptions;
    const socketReceiver = new SocketModeReceiver({
      appToken: config.SLACK_APP_TOKEN ?? '',
      logger,
      installerOptions: { clientOptions: socketClientOptions },
    });
    app = new App({ token: config.SLACK_BOT_TOKEN, receiver: socketReceiver, logger, clientOptions });
  }

  const pacer = opts.pacer ?? new ChannelPacer({ log });
  const messenger = new SlackMessenger(
    app.client,
    pacer,
    log,
    opts.chartRenderer ?? new ResvgChartRenderer(),
  );
  const deps: DispatchDeps = { ...opts.deps, services: { ...opts.deps.services, messenger } };

  const deliver = async (respond: RespondFn, channel: string | undefined, reply: Reply) => {
    const msg = renderBlocks(reply);
    await respond({
      response_type: reply.ephemeral ? 'ephemeral' : 'in_channel',
      text: msg.text,
      blocks: msg.blocks as never,
    });
    if (reply.chart && !reply.ephemeral && channel) await messenger.uploadChart({ channel }, reply.chart);
  };

  for (const command of deps.registry.commands) {
    app.command(`/${command.name}`, async ({ command: body, ack, respond }) => {
      // Ack first, before anything that can wait: Slack gives up after 3 s.
      const acked = ack();
      const inv: Invoker = {
        user: { id: body.user_id, ...(body.user_name ? { name: body.user_name } : {}) },
        ...(body.channel_id ? { channel: body.channel_id } : {}),
        source: 'slack',
      };
      await acked;
      const reply = await dispatchText(deps, inv, command.name, decodeSlackText(body.text ?? ''));
      try {
        await deliver(respond, body.channel_id, reply);
      } catch (err) {
        log.error({ err, command: command.name, user: body.user_id }, 'could not deliver the reply to Slack');
      }
    });
  }

  // A double click (or Slack retrying) must not run a destructive action twice.
  const seen = new Map<string, number>();
  for (const actionId of deps.registry.actionIds) {
    app.action(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      if (body.type !== 'block_actions' || action.type !== 'button') return;
      const messageTs = body.container?.message_ts ?? body.message?.ts ?? '';
      const value = action.value ?? '';
      const key = `${messageTs}|${actionId}|${value}`;
      const now = Date.now();
      for (const [k, t] of seen) if (now - t > 15 * 60_000) seen.delete(k);
      if (seen.has(key)) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: 'Already handled — one click is enough.',
        });
        return;
      }
      seen.set(key, now);
      const inv: Invoker = {
        user: { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) },
        ...(body.channel?.id ? { channel: body.channel.id } : {}),
        source: 'slack',
      };
      const reply = await dispatchAction(deps, inv, actionId, value);
      const msg = renderBlocks(reply);
      try {
        // A refusal or invalid value leaves the buttons for someone who may click; anything else replaces them.
        await respond(
          reply.level === 'error'
            ? {
                response_type: 'ephemeral',
                replace_original: false,
                text: msg.text,
                blocks: msg.blocks as never,
              }
            : { replace_original: true, text: msg.text, blocks: msg.blocks as never },
        );
        if (reply.level === 'error') seen.delete(key);
      } catch (err) {
        log.error({ err, actionId }, 'could not deliver the action result to Slack');
      }
    });
  }

  app.error(async (err) => {
    log.error({ err }, 'Slack listener error');
  });

  return {
    app,
    messenger,
    async start() {
      if (!receiver) {
        await app.start();
        log.info({ mode: 'socket' }, 'Slack bot connected (Socket Mode)');
        return {};
      }
      const listener = receiver.requestListener;
      server = createServer((req, res) => guard(req, res, listener, log));
      const port = opts.port ?? config.PORT;
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(port, resolve);
      });
      const actual = (server.address() as AddressInfo).port;
      log.info({ mode: 'http', port: actual }, 'Slack bot listening (HTTP, POST /slack/events)');
      return { port: actual };
    },
    async stop() {
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
        server = undefined;
      } else {
        await app.stop().catch((err: unknown) => log.warn({ err }, 'Socket Mode disconnect failed'));
      }
      await pacer.close();
    },
  };
}

/** Bolt checks the signature and rejects old timestamps; this also rejects future ones, before Bolt runs. */
function guard(
  req: IncomingMessage,
  res: ServerResponse,
  next: (req: IncomingMessage, res: ServerResponse) => void,
  log: Logger,
): void {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  const ts = req.headers['x-slack-request-timestamp'];
  if (!isFreshTimestamp(typeof ts === 'string' ? ts : undefined, Date.now())) {
    log.warn({ url: req.url, timestamp: ts }, 'rejected a request with a missing, stale or future timestamp');
    req.resume();
    res.writeHead(401).end();
    return;
  }
  try {
    next(req, res);
  } catch (err) {
    // Bolt throws for paths it does not serve.
    log.debug({ err, url: req.url }, 'unhandled HTTP request');
    if (!res.headersSent) res.writeHead(404).end();
  }
}

/** SLACK_SOCKET_URL: skip apps.connections.open and connect the WebSocket straight to this URL. */
function socketUrlOverride(url: string): NonNullable<WebClientOptions['fetch']> {
  return async (input, init) => {
    const target = input instanceof Request ? input.url : String(input);
    if (target.endsWith('/apps.connections.open')) {
      return new Response(JSON.stringify({ ok: true, url }), {
        headers: { 'content-type': 'application/json' },
      });
    }
    return fetch(input, init);
  };
}
