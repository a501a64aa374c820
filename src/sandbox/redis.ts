import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Daemon, spawnDaemon, waitUntil } from './daemon.js';
import { freePort } from './free-port.js';
import { requireBinaries } from './require-binaries.js';

export interface RedisService {
  info: { host: '127.0.0.1'; port: number; url: string };
  daemon: Daemon;
}

/** Send one inline command over a raw socket and return the first reply line (no client library needed). */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('redis: no reply'));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Settings to start a Redis with; the defaults are what the bot needs (BullMQ's noeviction, AOF on). */
export interface RedisStartOptions {
  /** Default `noeviction`. */
  readonly maxmemoryPolicy?: string;
  /** Default true. */
  readonly appendonly?: boolean;
  /** RDB save points, e.g. `60 1000`; default none (AOF persists). */
  readonly save?: string;
  /** Commands to disable, as managed Redis services do with CONFIG. */
  readonly disableCommands?: readonly string[];
  /** A subdirectory name under `dir`, so several servers can share one dir. Default `redis`. */
  readonly name?: string;
  /**
   * This port instead of a free one: a Redis started again on the port and files of one that was killed
   * (its clients reconnect to the same address and find its AOF).
   */
  readonly port?: number;
}

export async function startRedis(dir: string, opts: RedisStartOptions = {}): Promise<RedisService> {
  const bins = requireBinaries({ 'redis-server': 'redis-server' });
  const rdir = join(dir, opts.name ?? 'redis');
  await mkdir(rdir, { recursive: true });
  let lastError: unknown;
  // The free port can be taken between asking and binding; retry with a fresh one.
  for (let attempt = 1; attempt <= (opts.port === undefined ? 3 : 1); attempt++) {
    const port = opts.port ?? (await freePort());
    const daemon = spawnDaemon(
      'redis-server',
      bins['redis-server'],
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        rdir,
        '--appendonly',
        opts.appendonly === false ? 'no' : 'yes',
        '--maxmemory-policy',
        opts.maxmemoryPolicy ?? 'noeviction',
        '--save',
        opts.save ?? '',
        ...(opts.disableCommands ?? []).flatMap((c) => ['--rename-command', c, '']),
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      { logPath: join(rdir, 'redis.log'), cwd: rdir },
    );
    try {
      await waitUntil('redis PING', async () => (await redisCommand(port, 'PING')) === '+PONG', {
        timeoutMs: 10_000,
        intervalMs: 50,
        daemons: [daemon],
      });
      return { info: { host: '127.0.0.1', port, url: `redis://127.0.0.1:${port}` }, daemon };
    } catch (e) {
      lastError = e;
      await daemon.stop();
    }
  }
  throw lastError;
}
