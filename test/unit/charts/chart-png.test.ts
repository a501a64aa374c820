import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartLayout, MAX_BARS, markRows } from '../../../src/charts/chart-option.js';
import { chartSvg, ResvgChartRenderer } from '../../../src/charts/chart-png.js';
import { textWidth, truncateMiddle } from '../../../src/charts/text-width.js';
import type { ReplyChart } from '../../../src/reply.js';

// The one chart renderer both surfaces use: Slack uploads its PNG, the console writes it to a file. What a
// reader sees is read back from the SVG (its <text> elements and where they sit) and from the PNG's header.

const LONG = 'neox-20b-pile-dedup-lr3e-4-seq2048-warmup1pct-zero1-bf16-run07-restart-from-global_step12000';

const bars: ReplyChart = {
  kind: 'bar',
  title: 'Upload success rate per experiment',
  yLabel: 'success %',
  xType: 'category',
  yDomain: [0, 100],
  yUnit: '%',
  series: [
    { name: LONG, points: [[0, 0]], labels: ['0% (0/2)'] },
    { name: 'pythia-160m', points: [[1, 50]], labels: ['50% (1/2)'] },
    { name: 'exp-c', points: [[2, 100]], labels: ['100% (3/3)'] },
  ],
};

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 24);
const trend: ReplyChart = {
  kind: 'line',
  title: 'Upload success rate, last 7 days',
  yLabel: 'success %',
  xType: 'time',
  yDomain: [0, 100],
  yUnit: '%',
  series: [
    {
      name: 'all experiments',
      // Nov 27 completed nothing: a gap, still on the axis.
      points: [0, 1, 2, 4, 5, 6].map((i) => [T0 + i * DAY, 90 - i] as const),
    },
  ],
};

const loss: ReplyChart = {
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
        [60, 2.4],
      ],
    },
  ],
  marks: [
    { x: 50, label: 'report at 50' },
    { x: 52, label: 'loss_spike at 52' },
  ],
};

/** The <text> elements of an SVG with their y, in document order (entities as written). */
function texts(svg: string): { text: string; x: number; y: number }[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map((m) => {
    const attrs = m[1] ?? '';
    const t = /transform="translate\(([-\d.]+)\s+([-\d.]+)\)/.exec(attrs);
    const x = Number(/\bx="([-\d.]+)"/.exec(attrs)?.[1] ?? 0) + Number(t?.[1] ?? 0);
    const y = Number(/\by="([-\d.]+)"/.exec(attrs)?.[1] ?? 0) + Number(t?.[2] ?? 0);
    return { text: m[2] ?? '', x, y };
  });
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const pngSize = (png: Uint8Array) => {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
};

describe('bar chart: success per experiment', () => {
  it('puts each name on the axis, top to bottom in the order given (the digest gives worst first)', () => {
    const t = texts(chartSvg(bars));
    const y = (s: string) => t.find((x) => x.text === s)?.y ?? Number.NaN;
    const shortLong = truncateMiddle(LONG, 330, 12);
    expect(y(shortLong)).toBeLessThan(y('pythia-160m'));
    expect(y('pythia-160m')).toBeLessThan(y('exp-c'));
  });

  it('cuts a long name in the middle, keeping both ends, to fit beside the bars', () => {
    const svg = chartSvg(bars);
    expect(svg).not.toContain(LONG);
    const shown = truncateMiddle(LONG, 330, 12);
    expect(svg).toContain(shown);
    expect(shown.startsWith('neox-20b-pile')).toBe(true);
    expect(shown.endsWith('global_step12000')).toBe(true);
    expect(textWidth(shown, 12)).toBeLessThanOrEqual(330);
  });

  it('labels every bar with its value, 0% included, and draws a 0% bar as a visible stub', () => {
    const t = texts(chartSvg(bars)).map((x) => x.text);
    expect(t).toEqual(expect.arrayContaining(['0% (0/2)', '50% (1/2)', '100% (3/3)']));
    const opt = chartLayout(bars).option;
    const series = (Array.isArray(opt.series) ? opt.series : [opt.series])[0] as { barMinHeight?: number };
    expect(series.barMinHeight).toBeGreaterThan(0);
    // The stub: three bar rects, the 0% one at least as wide as the minimum.
    const rects = [
      ...chartSvg(bars).matchAll(
        /<path d="M\S+ \S+l(\S+) 0l[^"]*Z" fill="rgb\([^"]*" ecmeta_series_index="0"/g,
      ),
    ];
    expect(rects).toHaveLength(3);
    const widths = rects.map((m) => Number(m[1]));
    expect(Math.min(...widths)).toBeGreaterThanOrEqual(3);
  });

  it('colours bars by value from one scale (red to green), so many experiments never repeat a palette', () => {
    const svg = chartSvg(bars);
    const fills = [...svg.matchAll(/fill="(rgb\([^)]*\))"/g)].map((m) => m[1]);
    expect(fills).toContain('rgb(200,40,40)');
    expect(fills).toContain('rgb(40,150,70)');
  });

  it('has a 0–100% value axis and no numeric ticks among the names', () => {
    const t = texts(chartSvg(bars)).map((x) => x.text);
    expect(t).toEqual(expect.arrayContaining(['0%', '20%', '100%']));
    expect(t).not.toContain('-0.5');
  });

  it(`draws at most ${MAX_BARS} bars and says how many of how many`, () => {
    const many: ReplyChart = {
      ...bars,
      series: Array.from({ length: 57 }, (_, i) => ({ name: `exp-${i}`, points: [[i, i]] as const })),
    };
    const t = texts(chartSvg(many)).map((x) => x.text);
    expect(t).toContain(`exp-${MAX_BARS - 1}`);
    expect(t).not.toContain(`exp-${MAX_BARS}`);
    expect(t).toContain(`${MAX_BARS} of 57 shown`);
  });
});

describe('trend chart: success per day', () => {
  it('has dates on the x axis, a day without data included, and a 0–100% y axis', () => {
    const t = texts(chartSvg(trend)).map((x) => x.text);
    expect(t).toEqual(
      expect.arrayContaining(['Nov 24', 'Nov 25', 'Nov 26', 'Nov 27', 'Nov 28', 'Nov 30', '0%', '100%']),
    );
    expect(t.some((s) => /^−?-?\d+$/.test(s) && Number(s.replace('−', '-')) < 0)).toBe(false);
  });
});

describe('line chart: the loss curve', () => {
  it('escapes text, leaves out points that are not finite, and marks the report and each finding', () => {
    const svg = chartSvg(loss);
    expect(svg).toContain('Loss &lt;job 7&gt; &amp; more');
    expect(svg).not.toContain('NaN');
    const t = texts(svg);
    const report = t.find((x) => x.text === 'report at 50');
    const spike = t.find((x) => x.text === 'loss_spike at 52');
    expect(report).toBeDefined();
    expect(spike).toBeDefined();
    // Close together: the second label goes a row higher instead of over the first.
    expect(Math.abs((report?.y ?? 0) - (spike?.y ?? 0))).toBeGreaterThanOrEqual(12);
  });

  it('draws a mark past the last point, with the axis reaching it', () => {
    const past: ReplyChart = { ...loss, marks: [{ x: 90, label: 'report at 90' }] };
    const t = texts(chartSvg(past)).map((x) => x.text);
    expect(t).toContain('report at 90');
    expect(t).toContain('90');
  });

  it('keeps a mark label at the right edge inside the picture', () => {
    const edge: ReplyChart = { ...loss, marks: [{ x: 60, label: 'loss_spike at 1500000' }] };
    const label = texts(chartSvg(edge)).find((x) => x.text === 'loss_spike at 1500000');
    expect(label).toBeDefined();
    // Centred on its x (text-anchor middle): half its width either side.
    expect((label?.x ?? 0) + textWidth('loss_spike at 1500000', 11) / 2).toBeLessThanOrEqual(900);
  });

  it('puts mark labels that would touch in different rows, and far-apart ones in the same row', () => {
    const pos = (x: number) => x / 100;
    const marks = [
      { x: 50, label: 'report at 50' },
      { x: 51, label: 'nan_loss at 51' },
      { x: 95, label: 'cuda_oom at 95' },
    ];
    expect(markRows(marks, pos, 800)).toEqual([0, 1, 0]);
  });
});

describe('PNG', () => {
  it('renders every chart the bot posts, and an empty one, to a PNG; each is written for a look', async () => {
    const r = new ResvgChartRenderer();
    const dir = join(tmpdir(), 'chatops-chart-gallery');
    await mkdir(dir, { recursive: true });
    const empty: ReplyChart = { kind: 'bar', title: 'nothing yet', series: [] };
    const emptyLine: ReplyChart = { kind: 'line', title: 'no points', series: [{ name: 'x', points: [] }] };
    for (const [name, c] of Object.entries({ bars, trend, loss, empty, emptyLine })) {
      const png = await r.png(c);
      expect([...png.subarray(0, 8)]).toEqual(PNG_MAGIC);
      expect(pngSize(png).width).toBeGreaterThanOrEqual(900);
      await writeFile(join(dir, `${name}.png`), png);
    }
  });
});
