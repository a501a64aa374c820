import { ClusterError, trimStderr } from '../errors.js';
import type { ConfigRead } from '../neox/config-probe.js';
import { loadRemoteScript } from './remote-script.js';
import type { Transport } from './transport.js';

const READ_FILE = loadRemoteScript('read-file.sh');
const WRITE_FILE = loadRemoteScript('write-file.sh');
const FILE_MTIMES = loadRemoteScript('file-mtimes.sh');

const READ_STATUS: Readonly<Record<number, Exclude<ConfigRead['status'], 'ok'>>> = {
  3: 'missing',
  4: 'notfile',
  5: 'unreadable',
};

/** The first `maxBytes` bytes of a regular file on the cluster (remote/read-file.sh), or why not. */
export async function readFileHead(
  transport: Transport,
  path: string,
  maxBytes: number,
): Promise<ConfigRead> {
  const r = await transport.runScript(READ_FILE, [path, String(maxBytes)], {
    maxOutputBytes: maxBytes + 64 * 1024,
  });
  const status = READ_STATUS[r.exitCode];
  if (status) return { status };
  if (r.exitCode !== 0) {
    throw new ClusterError(`reading ${path} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  return { status: 'ok', text: r.stdout };
}

const WHY: Readonly<Record<Exclude<ConfigRead['status'], 'ok'>, string>> = {
  missing: 'it does not exist',
  notfile: 'it is not a regular file',
  unreadable: 'it is not readable',
};

/** A whole text file; ClusterError when it is missing, unreadable or larger than `maxBytes`. */
export async function readText(transport: Transport, path: string, maxBytes: number): Promise<string> {
  const r = await readFileHead(transport, path, maxBytes + 1);
  if (r.status !== 'ok') throw new ClusterError(`reading ${path} failed: ${WHY[r.status]}`);
  if (Buffer.byteLength(r.text) > maxBytes) {
    throw new ClusterError(`reading ${path} failed: it is larger than ${maxBytes} bytes`);
  }
  return r.text;
}

/** Create or replace a file on the cluster with `text` (remote/write-file.sh). */
export async function writeText(transport: Transport, path: string, text: string): Promise<void> {
  const r = await transport.runScript(WRITE_FILE, [path], { input: text });
  if (r.exitCode !== 0) {
    throw new ClusterError(`writing ${path} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
}

/**
 * Name → last modification (ms since the epoch) of the entries directly in `dir` whose name matches the
 * find glob `pattern`, in one command (remote/file-mtimes.sh). A missing directory has none. When find met
 * problems (an unreadable entry) what it did list is answered; it is an error only when it listed nothing.
 */
export async function modifiedTimes(
  transport: Transport,
  dir: string,
  pattern: string,
  opts: { readonly timeoutMs?: number } = {},
): Promise<Map<string, number>> {
  const r = await transport.runScript(FILE_MTIMES, [dir, pattern], { timeoutMs: opts.timeoutMs ?? 60_000 });
  const out = new Map<string, number>();
  if (r.exitCode === 3) return out;
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+) (\d+(?:\.\d+)?)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], Number(m[2]) * 1000);
  }
  if (r.exitCode !== 0 && out.size === 0) {
    throw new ClusterError(`listing ${dir} failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  return out;
}
