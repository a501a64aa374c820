import { describe, expect, it } from 'vitest';
import { chartSvg, ResvgChartRenderer } from '../../../src/charts/chart-png.js';
import type { ReplyChart } from '../../../src/reply.js';

// The one chart renderer both surfaces use: Slack uploads its PNG, the console writes it to a file.

const chart: ReplyChart = {
  kind: 'line',
  title: 'Loss <job 7> & more',
  xLabel: 'iteration',
  yLabel: 'lm_loss',
  series: [
    {
      name: 'lm_loss',
      points: [
        [10, 3.2],
        [20, Number.NaN],
        [30, 2.5],
      ],
    },
  ],
};

describe('chart rendering', () => {
  it('escapes text and leaves out points that are not finite', () => {
    const svg = chartSvg(chart);
    expect(svg).toContain('Loss &lt;job 7&gt; &amp; more');
    expect(svg).not.toContain('NaN');
    expect(svg.match(/<polyline points="([^"]*)"/)?.[1]?.split(' ')).toHaveLength(2);
  });

  it('renders a PNG, bars and an empty chart included', async () => {
    const r = new ResvgChartRenderer();
    const empty: ReplyChart = { kind: 'bar', title: 'nothing yet', series: [] };
    const bars: ReplyChart = {
      kind: 'bar',
      title: 'success %',
      series: [
        { name: 'a', points: [[0, 50]] },
        { name: 'b', points: [[0, 100]] },
      ],
    };
    for (const c of [chart, empty, bars]) {
      const png = await r.png(c);
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
  });
});
