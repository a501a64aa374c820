import type { LossValue } from './log-line.js';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatLoss(v: LossValue): string {
  return typeof v === 'number' ? v.toFixed(4) : v;
}

/** Remaining time from NeoX's own time per iteration. */
export function etaMs(
  lastIteration: number | null,
  trainIters: number | null,
  msPerIteration: number | null,
): number | null {
  if (lastIteration === null || trainIters === null || msPerIteration === null) return null;
  return Math.max(0, trainIters - lastIteration) * msPerIteration;
}
