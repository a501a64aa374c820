import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/cluster/local/local-transport.js';

/**
 * A LocalTransport whose remote programs run as an ordinary user, as they do on the cluster: the tests run
 * as root here, and root reads and writes whatever the permission bits say. Its `sh` is first on PATH and
 * re-runs the real one as `nobody` (setpriv); run as another user, it is a plain LocalTransport.
 * Everything it touches must be reachable by that user (directories 0755).
 */
export async function unprivilegedTransport(cwd: string): Promise<LocalTransport> {
  if (process.getuid?.() !== 0) return new LocalTransport({ cwd });
  const bin = await mkdtemp(join(tmpdir(), 'as-nobody-'));
  await chmod(bin, 0o755);
  await writeFile(
    join(bin, 'sh'),
    '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh "$@"\n',
    { mode: 0o755 },
  );
  return new LocalTransport({ cwd, env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` } });
}
