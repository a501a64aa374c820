import { appendFile, close, mkdir, mkdtemp, open, read, stat, writeFile } from 'node:fs';
import { promisify } from 'node:util';

// The few promise-returning file functions a CLI call reaches (the audit record, the console's charts and
// files, a local log read in chunks), made from node:fs's callback ones. node:fs/promises would serve as well, but
// loading it costs a fresh process a few milliseconds, and every `chatops …` is a fresh process.

export const appendFileAsync = promisify(appendFile);
export const closeAsync = promisify(close);
export const mkdirAsync = promisify(mkdir);
export const mkdtempAsync = promisify(mkdtemp);
export const openAsync = promisify(open);

/** Read up to buffer.length bytes at `position` into buffer: the count read (0 at the end). */
export function readAsync(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}
export const statAsync = promisify(stat);
export const writeFileAsync = promisify(writeFile);
