import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { LogScanner } from '../neox/log-scanner.js';
import { type ScanLogResult, scanResultOf } from '../neox/scan-log.js';

export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

/** Scan a local log file in chunks (training logs reach hundreds of MB; never read one whole). */
export async function scanLogFile(path: string): Promise<ScanLogResult> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LogFileError(
      code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code ?? 'error'})`,
    );
  }
  if (!st.isFile()) throw new LogFileError(`${path} is not a regular file`);
  const scanner = new LogScanner();
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  for await (const chunk of stream) scanner.feed(chunk as string);
  scanner.flush();
  return scanResultOf(scanner.state);
}
