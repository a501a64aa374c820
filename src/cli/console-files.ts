import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { mkdirAsync as mkdir, mkdtempAsync as mkdtemp, writeFileAsync as writeFile } from '../node-fs.js';
import type { ReplyFile } from '../reply.js';

export interface ConsoleFilesOptions {
  /** Where the files go; absent → a fresh `chatops-files-*` directory in the tmpdir, made on first use. */
  readonly dir?: string;
}

/**
 * What Slack attaches to a message (Reply.files), the console writes to a file and names, as it does with
 * charts: a 5,000-line log is better read in a pager than scrolled past. One per console session.
 */
export class ConsoleFiles {
  readonly #wanted: string | undefined;
  #dir: Promise<string> | undefined;
  #n = 0;

  constructor(opts: ConsoleFilesOptions = {}) {
    this.#wanted = opts.dir;
  }

  /** Write the file as `<n>-<filename>`; returns its path. */
  async write(file: ReplyFile): Promise<string> {
    const n = ++this.#n;
    const dir = await this.#directory();
    // Only the last part of the name: a file name from a reply never picks the directory.
    const path = join(dir, `${n}-${basename(file.filename).replace(/[^A-Za-z0-9._-]+/g, '-') || 'file'}`);
    await writeFile(path, file.content);
    return path;
  }

  #directory(): Promise<string> {
    this.#dir ??= (
      this.#wanted === undefined
        ? mkdtemp(join(tmpdir(), 'chatops-files-'))
        : mkdir(this.#wanted, { recursive: true }).then(() => this.#wanted as string)
    ).catch((e: unknown) => {
      // Let the next file try again (the directory may be writable by then).
      this.#dir = undefined;
      throw e;
    });
    return this.#dir;
  }

  /** The line the console prints for a file it wrote, or could not write. */
  static async line(files: ConsoleFiles, file: ReplyFile): Promise<string> {
    try {
      return `  file: ${await files.write(file)} (${file.title})`;
    } catch (e) {
      return `  file: ${file.filename} not written (${e instanceof Error ? e.message : String(e)})`;
    }
  }
}
