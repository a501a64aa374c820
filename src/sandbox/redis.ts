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

export async function startRedis(dir: string): Promise<RedisService> {
  const bins = requireBinaries({ 'redis-server': 'redis-server' });
  const rdir = join(dir, 'redis');
  await mkdir(rdir, { recursive: true });
  let lastError: unknown;
  // The free port can be taken between asking and binding; retry with a fresh one.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
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
        'yes',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
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
