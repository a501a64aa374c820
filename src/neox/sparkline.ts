const BARS = '▁▂▃▄▅▆▇█';

/** A one-line chart of the values; non-finite values show as `✕`. */
export function sparkline(values: readonly number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return values.map(() => '✕').join('');
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo;
  return values
    .map((v) => {
      if (!Number.isFinite(v)) return '✕';
      const i = span === 0 ? 3 : Math.round(((v - lo) / span) * (BARS.length - 1));
      return BARS[i] ?? '█';
    })
    .join('');
}
