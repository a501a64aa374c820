import type { BarSeriesOption, LineSeriesOption } from 'echarts/charts';
import type { GridComponentOption, MarkLineComponentOption, TitleComponentOption } from 'echarts/components';
import type { ComposeOption } from 'echarts/core';
import type { ReplyChart, ReplyChartSeries } from '../reply.js';
import { textWidth, truncateMiddle } from './text-width.js';

// Reply.chart → an ECharts option (plain data: what the tests read) and the picture's size. Bars are
// horizontal with their names on the axis, in the order given (the digest gives them worst first), coloured
// by value; lines have a value or date axis and a dashed vertical line per mark.

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | GridComponentOption | TitleComponentOption | MarkLineComponentOption
>;

export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  readonly option: ChartOption;
}

export const FONT = 'DejaVu Sans';
const WIDTH = 900;
const LINE_HEIGHT = 420;
const LABEL_SIZE = 12;
/** Names on a bar chart's axis are cut (in the middle) to this width; the bars get the rest. */
const MAX_NAME_PX = 330;
const BAR_ROW_PX = 26;
/** More bars than this would make a picture nobody reads: the first ones (the worst) are drawn. */
export const MAX_BARS = 40;
const TEXT = '#222';
const MUTED = '#666';
const GRID_LINE = '#e6e6e6';
const LINE_COLORS = ['#1f5fa8', '#c2410c', '#15803d', '#7c3aed'];
const MARK_COLOR = '#b45309';

const finite = (p: readonly [number, number]) => Number.isFinite(p[0]) && Number.isFinite(p[1]);

export function chartLayout(chart: ReplyChart): ChartLayout {
  return chart.kind === 'bar' ? barLayout(chart) : lineLayout(chart);
}

/** The title, and "no data yet" across the middle of a chart with nothing to draw. */
function titles(chart: ReplyChart, empty: boolean, subtext?: string): TitleComponentOption[] {
  const main = title(chart, subtext);
  if (!empty) return [main];
  return [
    main,
    {
      text: 'no data yet',
      left: 'center',
      top: 'middle',
      textStyle: { fontFamily: FONT, fontSize: 14, fontWeight: 'normal', color: MUTED },
    },
  ];
}

function title(chart: ReplyChart, subtext?: string): TitleComponentOption {
  return {
    text: chart.title,
    left: 16,
    top: 12,
    textStyle: { fontFamily: FONT, fontSize: 16, fontWeight: 'bold', color: TEXT },
    ...(subtext ? { subtext, subtextStyle: { fontFamily: FONT, fontSize: 12, color: MUTED } } : {}),
  };
}

const unit = (chart: ReplyChart) => chart.yUnit ?? '';

function formatValue(v: number, u: string): string {
  const s =
    Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-2 && v !== 0)
      ? v.toExponential(1)
      : String(Number(v.toPrecision(4)));
  return `${s}${u}`;
}

/** Red at the bottom of the range, amber in the middle, green at the top: one scale, read by value. */
export function valueColor(v: number, lo: number, hi: number): string {
  const t = hi === lo ? 1 : Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  type Rgb = readonly [number, number, number];
  const red: Rgb = [200, 40, 40];
  const amber: Rgb = [230, 160, 20];
  const green: Rgb = [40, 150, 70];
  const [a, b, f]: [Rgb, Rgb, number] = t < 0.5 ? [red, amber, t / 0.5] : [amber, green, (t - 0.5) / 0.5];
  const mix = (i: 0 | 1 | 2) => Math.round(a[i] + (b[i] - a[i]) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

/** One bar per series: its name on the axis, its (last finite) value as the bar and as a label. */
export interface BarRow {
  readonly name: string;
  readonly axisName: string;
  readonly value: number;
  readonly label: string;
}

export function barRows(chart: ReplyChart): BarRow[] {
  const u = unit(chart);
  const rows: BarRow[] = [];
  for (const s of chart.series) {
    const i = lastFiniteIndex(s);
    if (i < 0) continue;
    const value = (s.points[i] as readonly [number, number])[1];
    rows.push({
      name: s.name,
      axisName: truncateMiddle(s.name, MAX_NAME_PX, LABEL_SIZE),
      value,
      label: s.labels?.[i] ?? formatValue(value, u),
    });
  }
  return rows;
}

function lastFiniteIndex(s: ReplyChartSeries): number {
  for (let i = s.points.length - 1; i >= 0; i--)
    if (finite(s.points[i] as readonly [number, number])) return i;
  return -1;
}

function barLayout(chart: ReplyChart): ChartLayout {
  const all = barRows(chart);
  const rows = all.slice(0, MAX_BARS);
  const values = rows.map((r) => r.value);
  const [lo, hi] = chart.yDomain ?? [Math.min(0, ...values), Math.max(1, ...values)];
  const nameWidth = Math.max(40, ...rows.map((r) => textWidth(r.axisName, LABEL_SIZE)));
  const labelWidth = Math.max(30, ...rows.map((r) => textWidth(r.label, LABEL_SIZE)));
  const top = all.length > rows.length ? 70 : 52;
  const bottom = chart.yLabel ? 56 : 36;
  const height = top + bottom + Math.max(2, rows.length) * BAR_ROW_PX;
  const u = unit(chart);
  const subtext = all.length > rows.length ? `${rows.length} of ${all.length} shown` : undefined;
  return {
    width: WIDTH,
    height,
    option: {
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: FONT },
      title: titles(chart, rows.length === 0, subtext),
      grid: { left: nameWidth + 24, right: labelWidth + 24, top, bottom },
      xAxis: {
        type: 'value',
        min: lo,
        max: hi,
        ...(chart.yLabel
          ? { name: chart.yLabel, nameLocation: 'middle', nameGap: 30, nameTextStyle: axisName() }
          : {}),
        axisLabel: {
          fontFamily: FONT,
          fontSize: 11,
          color: MUTED,
          formatter: (v: number) => formatValue(v, u),
        },
        splitLine: { lineStyle: { color: GRID_LINE } },
      },
      yAxis: {
        type: 'category',
        // Top to bottom in the order given.
        inverse: true,
        data: rows.map((r) => r.axisName),
        axisTick: { show: false },
        axisLine: { lineStyle: { color: '#999' } },
        axisLabel: { fontFamily: FONT, fontSize: LABEL_SIZE, color: TEXT, interval: 0 },
      },
      series: [
        {
          type: 'bar',
          barWidth: '62%',
          // A 0% bar is still a visible stub beside its label.
          barMinHeight: 3,
          data: rows.map((r) => ({
            value: r.value,
            itemStyle: { color: valueColor(r.value, lo, hi) },
            label: { formatter: r.label },
          })),
          label: { show: true, position: 'right', fontFamily: FONT, fontSize: LABEL_SIZE, color: TEXT },
        },
      ],
    },
  };
}

function axisName() {
  return { fontFamily: FONT, fontSize: 12, color: '#333' };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** "Nov 30" in UTC: the periods the bot reports are UTC, like its timestamps. */
export function dayLabel(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

const DAY_MS = 86_400_000;
const MAX_DAYS = 62;

/** The x values of a time chart as day slots: every day between the first and last (or each value as is). */
function dayAxis(xs: readonly number[]): number[] {
  const sorted = [...new Set(xs)].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return [];
  const n = Math.round((last - first) / DAY_MS);
  const daily =
    n <= MAX_DAYS &&
    sorted.every((x) => Math.abs((x - first) / DAY_MS - Math.round((x - first) / DAY_MS)) < 0.01);
  return daily ? Array.from({ length: n + 1 }, (_, i) => first + i * DAY_MS) : sorted;
}

const slot = (days: readonly number[], x: number) => {
  const i = days.findIndex((d) => Math.abs(d - x) < DAY_MS / 100);
  return i < 0 ? days.indexOf(x) : i;
};

function lineLayout(chart: ReplyChart): ChartLayout {
  const u = unit(chart);
  const time = chart.xType === 'time';
  const series = chart.series.map((s) => ({
    name: s.name,
    points: s.points.map((p, i) => ({ p, label: s.labels?.[i] })).filter((x) => finite(x.p)),
  }));
  // Dates: one category per day from the first to the last, labelled "Nov 30", so a day without a value is
  // a gap at its place rather than missing from the axis.
  const days = time ? dayAxis(series.flatMap((s) => s.points.map((x) => x.p[0]))) : [];
  const few = series.every((s) => s.points.length <= 31);
  const marks = [...(chart.marks ?? [])].filter((m) => Number.isFinite(m.x)).sort((a, b) => a.x - b.x);
  const xs = time ? [0, Math.max(1, days.length - 1)] : series.flatMap((s) => s.points.map((x) => x.p[0]));
  const [x0, x1] = [
    Math.min(...xs, ...marks.map((m) => (time ? slot(days, m.x) : m.x))),
    Math.max(...xs, ...marks.map((m) => (time ? slot(days, m.x) : m.x))),
  ];
  const plotPx = WIDTH - 120;
  const position = (x: number) => (x1 === x0 ? 0.5 : ((time ? slot(days, x) : x) - x0) / (x1 - x0));
  const rows = markRows(marks, position, plotPx);
  // A label centred on a mark at the right edge would run off the picture: widen the margin for it.
  const right = Math.max(
    40,
    ...marks.map((m) => textWidth(m.label, 11) / 2 + 8 - (1 - position(m.x)) * plotPx),
  );
  const top = 66 + (marks.length > 0 ? 22 + Math.max(0, ...rows) * MARK_ROW_PX : 0);
  const lineSeries: LineSeriesOption[] = series.map((s, i) => ({
    type: 'line',
    name: s.name,
    showSymbol: s.points.length <= 60,
    symbolSize: 6,
    lineStyle: { width: 2, color: LINE_COLORS[i % LINE_COLORS.length] },
    itemStyle: { color: LINE_COLORS[i % LINE_COLORS.length] },
    data: s.points.map((x) => (time ? [slot(days, x.p[0]), x.p[1]] : [x.p[0], x.p[1]])),
    ...(few && (time || s.points.some((x) => x.label !== undefined))
      ? {
          label: {
            show: true,
            position: 'top',
            fontFamily: FONT,
            fontSize: 11,
            color: TEXT,
            formatter: (p: { dataIndex: number; value: unknown }) => {
              const x = s.points[p.dataIndex];
              return x?.label ?? formatValue(x?.p[1] ?? 0, u);
            },
          },
        }
      : {}),
    ...(i === 0 && marks.length > 0 ? { markLine: markLine(marks, rows, time ? days : null) } : {}),
  }));
  const ys = series.flatMap((s) => s.points.map((x) => x.p[1]));
  const yName = chart.yLabel
    ? { name: chart.yLabel, nameLocation: 'middle' as const, nameGap: 52, nameTextStyle: axisName() }
    : {};
  const xName = chart.xLabel
    ? { name: chart.xLabel, nameLocation: 'middle' as const, nameGap: 30, nameTextStyle: axisName() }
    : {};
  const axisLabel = { fontFamily: FONT, fontSize: 11, color: MUTED };
  return {
    width: WIDTH,
    height: LINE_HEIGHT,
    option: {
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: FONT },
      title: titles(chart, ys.length === 0),
      grid: { left: 80, right, top, bottom: chart.xLabel ? 60 : 40 },
      xAxis: time
        ? {
            type: 'category',
            data: days.map(dayLabel),
            boundaryGap: false,
            axisLabel: { ...axisLabel, interval: 'auto' },
            axisLine: { lineStyle: { color: '#999' } },
            ...xName,
          }
        : {
            type: 'value',
            scale: true,
            ...(series.length > 0 && ys.length > 0
              ? marks.length > 0
                ? {
                    // The axis reaches every mark, even one past the last point drawn.
                    min: (v: { min: number }) => Math.min(v.min, ...marks.map((m) => m.x)),
                    max: (v: { max: number }) => Math.max(v.max, ...marks.map((m) => m.x)),
                  }
                : {}
              : { min: 0, max: 1 }),
            axisLabel: { ...axisLabel, formatter: (v: number) => formatValue(v, '') },
            splitLine: { show: false },
            axisLine: { lineStyle: { color: '#999' } },
            ...xName,
          },
      yAxis: {
        type: 'value',
        ...(chart.yDomain
          ? { min: chart.yDomain[0], max: chart.yDomain[1] }
          : ys.length > 0
            ? { scale: true }
            : { min: 0, max: 1 }),
        axisLabel: { ...axisLabel, formatter: (v: number) => formatValue(v, u) },
        splitLine: { lineStyle: { color: GRID_LINE } },
        ...yName,
      },
      series: lineSeries,
    },
  };
}

/** A dashed vertical line per mark, its label above the plot; a label that would touch the one before it
 * goes a row higher. */
function markLine(
  marks: readonly { x: number; label: string }[],
  rows: readonly number[],
  days: readonly number[] | null,
): MarkLineComponentOption {
  return {
    silent: true,
    symbol: 'none',
    animation: false,
    lineStyle: { type: 'dashed', color: MARK_COLOR, width: 1.5 },
    label: { fontFamily: FONT, fontSize: 11, color: MARK_COLOR, position: 'end' },
    data: marks.map((m, i) => ({
      xAxis: days ? slot(days, m.x) : m.x,
      name: m.label,
      label: { formatter: m.label, distance: 4 + (rows[i] ?? 0) * MARK_ROW_PX },
    })),
  };
}

const MARK_ROW_PX = 15;

/** Which row each (x-sorted) mark label goes in, given where on the plot each x falls (0–1) and its width. */
export function markRows(
  marks: readonly { x: number; label: string }[],
  position: (x: number) => number,
  plotPx: number,
): number[] {
  const ends: number[] = [];
  return marks.map((m) => {
    const half = textWidth(m.label, 11) / 2 + 6;
    const at = position(m.x) * plotPx;
    let row = ends.findIndex((end) => end <= at - half);
    if (row < 0) row = ends.length;
    ends[row] = at + half;
    return row;
  });
}
