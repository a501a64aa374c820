import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChartRenderer } from '../charts/chart-png.js';
import { lazyChartRenderer } from '../charts/lazy-chart-renderer.js';
import { mkdirAsync as mkdir, mkdtempAsync as mkdtemp, writeFileAsync as writeFile } from '../node-fs.js';
import type { ReplyChart } from '../reply.js';

export interface ConsoleChartsOptions {
  /** Where the PNGs go (created if missing); absent → a fresh `chatops-charts-*` directory in the tmpdir. */
  readonly dir?: string;
  readonly renderer?: ChartRenderer;
}

/**
 * A terminal cannot show an image, so the console writes each chart it prints to a PNG file and prints the
 * path. One per console session, shared with its messenger, so file numbers never collide.
 */
export class ConsoleCharts {
  readonly #renderer: ChartRenderer;
  readonly #wanted: string | undefined;
  #dir: Promise<string> | undefined;
  #resolved: string | undefined;
  #n = 0;

  constructor(opts: ConsoleChartsOptions = {}) {
    this.#wanted = opts.dir;
    this.#renderer = opts.renderer ?? lazyChartRenderer();
  }

  /** The directory, once the first chart has created it. */
  get dir(): string | undefined {
    return this.#resolved;
  }

  /** Render the chart and write `<title>-<n>.png`; returns its path. */
  async write(chart: ReplyChart): Promise<string> {
    const n = ++this.#n;
    const [dir, png] = await Promise.all([this.#directory(), this.#renderer.png(chart)]);
    const file = join(dir, `${slug(chart.title)}-${n}.png`);
    await writeFile(file, png);
    return file;
  }

  // Created on the first chart, so a session that shows none leaves nothing behind.
  #directory(): Promise<string> {
    this.#dir ??= (
      this.#wanted === undefined
        ? mkdtemp(join(tmpdir(), 'chatops-charts-'))
        : mkdir(this.#wanted, { recursive: true }).then(() => this.#wanted as string)
    ).then(
      (d) => {
        this.#resolved = d;
        return d;
      },
      (e: unknown) => {
        // Let the next chart try again (the directory may be writable by then).
        this.#dir = undefined;
        throw e;
      },
    );
    return this.#dir;
  }
}

/** "Job 12: lm_loss" → "job-12-lm-loss": a file name that needs no quoting in a shell. */
function slug(title: string): string {
  const s = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'chart';
}
