import { createServer } from 'node:net';

/**
 * Ask the kernel for a free TCP port on loopback. Another process can grab it before the daemon binds, so
 * callers retry the daemon's start with a fresh port when it fails to bind.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('free-port: no port assigned'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}
