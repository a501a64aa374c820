import { editDistance } from '../edit-distance.js';

export function nearest(target: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(target, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
