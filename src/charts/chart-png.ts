import { Resvg } from '@resvg/resvg-js';
import type { ReplyChart } from '../reply.js';

// Reply.chart → SVG → PNG with resvg (a prebuilt binary from the npm registry; no native build). Text uses
// the system's fonts; on a machine without any, the lines still render and the labels are simply absent.
// One renderer for every surface: Slack uploads the PNG, the console writes it to a file.

const W = 800;
const H = 400;
const M = { left: 70, right: 20, top: 40, bottom: 50 };
const COLORS = ['#1d3557', '#e63946', '#2a9d8f', '#f4a261', '#6d597a', '#457b9d'];

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function ticks(lo: number, hi: number, n = 5): number[] {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const label = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));

export function chartSvg(chart: ReplyChart): string {
  const pts = chart.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys, chart.kind === 'bar' ? 0 : Number.POSITIVE_INFINITY), Math.max(...ys)];
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  if (chart.kind !== 'bar') [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" font-size="16" text-anchor="middle" fill="#222">${esc(chart.title)}</text>`,
  ];
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end" fill="#555">${label(t)}</text>`,
    );
  }
  for (const t of ticks(x0, x1, 6)) {
    parts.push(
      `<text x="${sx(t)}" y="${H - M.bottom + 16}" font-size="11" text-anchor="middle" fill="#555">${label(t)}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#999"/>`,
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#999"/>`,
  );
  if (chart.xLabel) {
    parts.push(
      `<text x="${W / 2}" y="${H - 12}" font-size="12" text-anchor="middle" fill="#333">${esc(chart.xLabel)}</text>`,
    );
  }
  if (chart.yLabel) {
    parts.push(
      `<text x="16" y="${H / 2}" font-size="12" text-anchor="middle" fill="#333" transform="rotate(-90 16 ${H / 2})">${esc(chart.yLabel)}</text>`,
    );
  }
  const n = chart.series.length;
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (chart.kind === 'bar') {
      const slot = ((W - M.left - M.right) / Math.max(1, new Set(xs).size)) * 0.8;
      const bw = Math.max(1, slot / n);
      for (const [x, y] of good) {
        const left = sx(x) - slot / 2 + i * bw;
        parts.push(
          `<rect x="${left}" y="${Math.min(sy(y), sy(0))}" width="${bw}" height="${Math.abs(sy(0) - sy(y))}" fill="${color}"/>`,
        );
      }
    } else {
      const d = good.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    parts.push(
      `<rect x="${W - M.right - 150}" y="${M.top + i * 18}" width="10" height="10" fill="${color}"/>`,
      `<text x="${W - M.right - 135}" y="${M.top + i * 18 + 9}" font-size="11" fill="#333">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Turns a chart into a PNG: what each surface needs from this room. */
export interface ChartRenderer {
  png(chart: ReplyChart): Promise<Uint8Array>;
}

export class ResvgChartRenderer implements ChartRenderer {
  async png(chart: ReplyChart): Promise<Uint8Array> {
    const svg = chartSvg(chart);
    const r = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
    return r.render().asPng();
  }
}
