import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, type Logger as SlackLogger } from '@slack/bolt';
import type { DispatchDeps } from '../../commands/core/dispatch.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ActionDedupe } from './action-dedupe.js';
import { boltLogger } from './bolt-logger.js';
import { slackClientOptions } from './create-slack-messenger.js';
import { isFreshTimestamp } from './request-freshness.js';
import { withSlackApiMetrics } from './slack-api-metrics.js';
import { registerActions, registerCommands } from './slack-listeners.js';
import type { SlackMessenger } from './slack-messenger.js';
import type { SocketTimings } from './socket-connection.js';
import { socketUrlSource } from './socket-open.js';
import { type ReconnectBackoff, SocketModeConnections } from './socket-receiver.js';
import { connectedStatus, disconnectedStatus, type SlackConnectionStatus } from './socket-status.js';

export type { SlackConnectionStatus } from './socket-status.js';

export interface SlackBotOptions {
  readonly config: Config;
  readonly log: Logger;
  /** What the dispatcher needs; `deps.services.messenger` is `messenger` below. */
  readonly deps: DispatchDeps;
  /** Posts charts of replies and the features' messages; the bot closes it on stop(). */
  readonly messenger: SlackMessenger;
  /** HTTP mode: listen here instead of config.PORT (tests pass 0 for any free port). */
  readonly port?: number;
  /** Socket Mode: the link checks and reconnect backoff (tests shorten them). */
  readonly socket?: {
    readonly timings?: Partial<SocketTimings>;
    readonly backoff?: Partial<ReconnectBackoff>;
  };
  /** Which button clicks were handled, shared by every replica (Redis); in memory when absent. */
  readonly actionDedupe?: ActionDedupe;
}

export interface SlackBot {
  readonly app: App;
  /** HTTP mode: the port listened on. */
  start(): Promise<{ port?: number }>;
  stop(): Promise<void>;
  /** Whether Slack can reach the bot now, for readiness: "Slack disconnected since <ISO time>: <reason>". */
  connection(): SlackConnectionStatus;
}

export function createSlackBot(opts: SlackBotOptions): SlackBot {
  const { config, log, messenger } = opts;
  // One messenger for the replies' charts and for whatever the services post.
  const deps: DispatchDeps = { ...opts.deps, services: { ...opts.deps.services, messenger } };
  const { app, receiver, socket } = createBoltApp(config, log, opts.socket);
  withSlackApiMetrics(app.client, opts.deps.metrics);
  let server: Server | undefined;
  let httpStatus = disconnectedStatus(Date.now(), 'not listening yet');
  registerCommands(app, deps, messenger, log);
  registerActions(app, deps, log, opts.actionDedupe);
  app.error(async (err) => {
    log.error({ err }, 'Slack listener error');
  });

  return {
    app,
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
      httpStatus = connectedStatus(Date.now(), `HTTP mode: listening on port ${actual}`);
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
        httpStatus = disconnectedStatus(Date.now(), 'the bot stopped');
      } else {
        await app.stop().catch((err: unknown) => log.warn({ err }, 'Socket Mode disconnect failed'));
      }
      await messenger.close();
    },
    connection() {
      return socket ? socket.connection() : httpStatus;
    },
  };
}

/** The Bolt app on the configured receiver: HTTP (our server calls its listener) or Socket Mode (ours). */
function createBoltApp(
  config: Config,
  log: Logger,
  socketOptions: SlackBotOptions['socket'],
): { app: App; receiver?: HTTPReceiver; socket?: SocketModeConnections } {
  const logger: SlackLogger = boltLogger(log);
  const clientOptions = slackClientOptions(config);
  if (config.SLACK_MODE === 'http') {
    const receiver = new HTTPReceiver({
      signingSecret: config.SLACK_SIGNING_SECRET ?? '',
      endpoints: '/slack/events',
      logger,
      // Ack as soon as the listener calls ack(), not after it finishes.
      processBeforeResponse: false,
    });
    return { app: new App({ token: config.SLACK_BOT_TOKEN, receiver, logger, clientOptions }), receiver };
  }
  const socketLog = log.child({ component: 'socket-mode' });
  const socket = new SocketModeConnections({
    openUrl: socketUrlSource(config, socketLog),
    log: socketLog,
    ...(socketOptions?.timings ? { timings: socketOptions.timings } : {}),
    ...(socketOptions?.backoff ? { backoff: socketOptions.backoff } : {}),
  });
  return { app: new App({ token: config.SLACK_BOT_TOKEN, receiver: socket, logger, clientOptions }), socket };
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
