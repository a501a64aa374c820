import { existsSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import type { ReplyChart } from '../reply.js';
import { chartSvg } from './chart-svg.js';

// Reply.chart → SVG (chart-svg.ts) → PNG with resvg (a prebuilt binary from the npm registry; no native
// build). One renderer for every surface: Slack uploads the PNG, the console writes it to a file.
//
// resvg draws text only with fonts it is given. The charts are laid out for DejaVu Sans (Debian's
// fonts-dejavu-core, which scripts/ensure-deps.mjs installs; docs/domain.md, "Charts"): its files are
// loaded directly, which is faster than scanning every system font; without them the system's fonts are
// searched, and on a machine with none the bars and lines still render, without their labels.

const DEJAVU_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF'];
const DEJAVU_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

function fontOptions(): NonNullable<ResvgRenderOptions['font']> {
  for (const dir of DEJAVU_DIRS) {
    const files = DEJAVU_FILES.map((f) => `${dir}/${f}`).filter((f) => existsSync(f));
    if (files.length > 0)
      return { fontFiles: files, loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' };
  }
  return { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' };
}

/** Turns a chart into a PNG: what each surface needs from this room. */
export interface ChartRenderer {
  png(chart: ReplyChart): Promise<Uint8Array>;
}

export { chartSvg };

export class ResvgChartRenderer implements ChartRenderer {
  #font: NonNullable<ResvgRenderOptions['font']> | undefined;

  async png(chart: ReplyChart): Promise<Uint8Array> {
    this.#font ??= fontOptions();
    const r = new Resvg(chartSvg(chart), { font: this.#font, fitTo: { mode: 'zoom', value: 1.5 } });
    return r.render().asPng();
  }
}
