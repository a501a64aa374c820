import {
  appendFile,
  appendFileSync,
  close,
  closeSync,
  mkdir,
  mkdirSync,
  mkdtemp,
  open,
  openSync,
  read,
  readSync,
  type Stats,
  stat,
  statSync,
  writeFile,
} from 'node:fs';
import { promisify } from 'node:util';

// The promise-returning file calls a CLI call reaches (the audit record, a local log read in chunks, the
// console's charts and files), made from node:fs's callback ones: node:fs/promises would serve as well,
// but loading it costs a fresh process a few milliseconds, and every `chatops …` is a fresh process.

export const appendFileAsync = promisify(appendFile);
export const mkdirAsync = promisify(mkdir);
export const mkdtempAsync = promisify(mkdtemp);
export const writeFileAsync = promisify(writeFile);

/** The calls a room that reads or appends files is given, so the wiring can choose how they are made. */
export interface FileCalls {
  stat(path: string): Promise<Stats>;
  open(path: string, flags: 'r' | 'a'): Promise<number>;
  /** Read up to buffer.length bytes at `position` into buffer: the count read (0 at the end). */
  read(fd: number, buffer: Buffer, position: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Make the directory and its parents (nothing if it exists). */
  mkdir(dir: string): Promise<unknown>;
  append(path: string, text: string): Promise<void>;
}

const statCallback = promisify(stat);
const openCallback = promisify(open);
const closeCallback = promisify(close);

/** Through libuv's thread pool: for a process that serves others meanwhile (the bot, the console). */
export const asyncFiles: FileCalls = {
  stat: (path) => statCallback(path),
  open: (path, flags) => openCallback(path, flags),
  read: (fd, buffer, position) =>
    new Promise((resolve, reject) =>
      read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  close: (fd) => closeCallback(fd),
  mkdir: (dir) => mkdirAsync(dir, { recursive: true }),
  append: (path, text) => appendFileAsync(path, text),
};

/**
 * Synchronous calls behind the same promises: for a one-shot CLI process, which has nothing else to do
 * while it reads or writes, and then never starts the thread pool (a few milliseconds of every call).
 */
export const syncFiles: FileCalls = {
  stat: async (path) => statSync(path),
  open: async (path, flags) => openSync(path, flags),
  read: async (fd, buffer, position) => readSync(fd, buffer, 0, buffer.length, position),
  close: async (fd) => closeSync(fd),
  mkdir: async (dir) => mkdirSync(dir, { recursive: true }),
  append: async (path, text) => appendFileSync(path, text),
};
