import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, MarkLineComponent, TitleComponent } from 'echarts/components';
import { init, setPlatformAPI, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import type { ReplyChart } from '../reply.js';
import { chartLayout } from './chart-option.js';
import { measureFont } from './text-width.js';

// Reply.chart → SVG with ECharts' server-side SVG renderer: no browser, no DOM, no canvas. ECharts measures
// text to lay out axes and labels; without a canvas it would guess with a narrower font's widths, so it is
// given DejaVu Sans's, the font resvg draws with.

use([BarChart, LineChart, GridComponent, TitleComponent, MarkLineComponent, SVGRenderer]);
setPlatformAPI({ measureText: (text: string, font?: string) => ({ width: measureFont(text, font) }) });

export function chartSvg(chart: ReplyChart): string {
  const { width, height, option } = chartLayout(chart);
  const c = init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    c.setOption(option);
    return c.renderToSVGString();
  } finally {
    c.dispose();
  }
}
