import type { ChartRenderer } from './chart-png.js';

/**
 * The chart renderer, loaded with the first chart: ECharts, zrender and resvg's native module (~25 MB,
 * ~150 ms) are paid for only by a process that draws one, not by every bot and CLI start.
 */
export function lazyChartRenderer(): ChartRenderer {
  let renderer: Promise<ChartRenderer> | undefined;
  return {
    async png(chart) {
      renderer ??= import('./chart-png.js').then((m) => new m.ResvgChartRenderer());
      return (await renderer).png(chart);
    },
  };
}
