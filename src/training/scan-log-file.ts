import { LogScanner } from '../neox/log-scanner.js';
import { type ScanLogResult, scanResultOf } from '../neox/scan-log.js';
import { asyncFiles, type FileCalls } from '../node-fs.js';

export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * Scan a local log file in 1 MiB chunks (training logs reach hundreds of MB; never read one whole). Read
 * with `files` (asyncFiles unless the caller has nothing else to do) rather than a read stream: the CLI's
 * one-shot `train scan-log` then loads no stream code.
 */
export async function scanLogFile(path: string, files: FileCalls = asyncFiles): Promise<ScanLogResult> {
  let fd: number;
  try {
    const st = await files.stat(path);
    if (!st.isFile()) throw new LogFileError(`${path} is not a regular file`);
    fd = await files.open(path, 'r');
  } catch (e) {
    if (e instanceof LogFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new LogFileError(
      code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code ?? 'error'})`,
    );
  }
  try {
    const scanner = new LogScanner();
    // A character split between two chunks is held back until the next one completes it.
    const decoder = new TextDecoder('utf-8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = 0; ; ) {
      const n = await files.read(fd, buffer, position);
      if (n === 0) break;
      position += n;
      scanner.feed(decoder.decode(buffer.subarray(0, n), { stream: true }));
    }
    scanner.feed(decoder.decode());
    scanner.flush();
    return scanResultOf(scanner.state);
  } finally {
    await files.close(fd);
  }
}
