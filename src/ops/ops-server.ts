import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { type ReadinessCheck, runReadiness } from './readiness.js';

// The operations HTTP server, in both Slack modes (docs/domain.md#operating-the-bot):
//   GET /healthz  liveness: the event loop answers (no dependency is asked: a Redis outage must not get the
//                 process restarted, only taken out of rotation)
//   GET /readyz   readiness: every check with its reason; 200 when all pass, 503 otherwise (JSON)
//   GET /metrics  Prometheus text exposition format

export interface OpsServerOptions {
  readonly host: string;
  /** 0 = any free port (tests); the caller skips the server altogether when OPS_PORT=0. */
  readonly port: number;
  readonly registry: Registry;
  readonly checks: readonly ReadinessCheck[];
  readonly log: Logger;
  readonly checkTimeoutMs?: number;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      opts.log.warn({ err, url: req.url }, 'ops request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ host: opts.host, port }, 'ops server listening (GET /healthz, /readyz, /metrics)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: OpsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    case '/readyz': {
      const report = await runReadiness(opts.checks, opts.checkTimeoutMs);
      res
        .writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(report)}\n`);
      return;
    }
    case '/metrics': {
      const text = await opts.registry.metrics();
      res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text);
      return;
    }
    default:
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /healthz, /readyz or /metrics\n');
  }
}
