import { chartSvg, ResvgChartRenderer } from '../src/charts/chart-png.js';
import type { ReplyChart } from '../src/reply.js';

// npm run bench -- charts
// Time to draw each chart the bot posts: ECharts' SVG (layout included) and the PNG resvg makes of it.
// Charts as the bot builds them at their largest: the per-experiment bars at their cap (40 bars, long
// names), the 7-day trend, and a loss curve at the scanner's 200 points with three marks. Each is drawn
// REPS times after one warm-up; median and worst in ms.

const REPS = Number(process.env.CHART_BENCH_REPS ?? 20);
const DAY = 86_400_000;
const long = (i: number) =>
  `neox-20b-pile-dedup-lr3e-4-seq2048-warmup1pct-zero1-bf16-run${i}-from-global_step12000`;

const charts: Record<string, ReplyChart> = {
  bars40: {
    kind: 'bar',
    title: 'Upload success rate per experiment',
    yLabel: 'success %',
    xType: 'category',
    yDomain: [0, 100],
    yUnit: '%',
    series: Array.from({ length: 40 }, (_, i) => ({
      name: long(i),
      points: [[i, i * 2.5]] as const,
      labels: [`${i * 2.5}% (${i}/40)`],
    })),
  },
  trend7: {
    kind: 'line',
    title: 'Upload success rate, last 7 days',
    yLabel: 'success %',
    xType: 'time',
    yDomain: [0, 100],
    yUnit: '%',
    series: [
      {
        name: 'all experiments',
        points: Array.from({ length: 7 }, (_, i) => [Date.UTC(2026, 10, 24) + i * DAY, 60 + i * 5] as const),
      },
    ],
  },
  loss200: {
    kind: 'line',
    title: 'Job 4242: lm_loss',
    xLabel: 'iteration',
    yLabel: 'lm_loss',
    series: [
      {
        name: 'lm_loss',
        points: Array.from({ length: 200 }, (_, i) => [i * 10, 10 * Math.exp(-i / 40) + 2] as const),
      },
    ],
    marks: [
      { x: 50, label: 'report at 50' },
      { x: 60, label: 'loss_spike at 60' },
      { x: 1500, label: 'cuda_oom at 1500' },
    ],
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number) => Math.round(x * 10) / 10;

export default async function main(): Promise<void> {
  const r = new ResvgChartRenderer();
  const result: Record<string, unknown> = { reps: REPS };
  for (const [name, chart] of Object.entries(charts)) {
    await r.png(chart);
    const svg: number[] = [];
    const png: number[] = [];
    let bytes = 0;
    for (let i = 0; i < REPS; i++) {
      let t = performance.now();
      chartSvg(chart);
      svg.push(performance.now() - t);
      t = performance.now();
      bytes = (await r.png(chart)).length;
      png.push(performance.now() - t);
    }
    result[name] = {
      svgMedianMs: round(median(svg)),
      pngMedianMs: round(median(png)),
      pngMaxMs: round(Math.max(...png)),
      pngBytes: bytes,
    };
  }
  console.log(`RESULT ${JSON.stringify(result)}`);
}
