// `stalled` is decided by the clock, not the text: no new iteration line for k × the usual gap between
// iteration lines while Slurm says the job is running. All times are epoch ms so the state is plain JSON.

export interface StallClock {
  /** When the first and the latest iteration line were read, and how many have been read. */
  firstIterAt: number | null;
  lastIterAt: number | null;
  linesSeen: number;
  /** NeoX's own `elapsed time per iteration (ms)` × iterations per line, for a guess after the first line. */
  reportedGapMs: number | null;
}

export interface StallOptions {
  /** Multiple of the mean gap that counts as stalled. */
  readonly k: number;
  /** Never call a gap shorter than this stalled (slow polls, small jitter). */
  readonly minMs: number;
}

export const DEFAULT_STALL: StallOptions = { k: 5, minMs: 10 * 60_000 };

export function createStallClock(): StallClock {
  return { firstIterAt: null, lastIterAt: null, linesSeen: 0, reportedGapMs: null };
}

/** Record `count` new iteration lines read at `now`. */
export function noteIterations(
  clock: StallClock,
  now: number,
  count: number,
  msPerIteration: number | null,
  iterationsPerLine: number | null,
): void {
  if (count <= 0) return;
  if (clock.firstIterAt === null) clock.firstIterAt = now;
  clock.lastIterAt = now;
  clock.linesSeen += count;
  if (msPerIteration !== null && iterationsPerLine !== null && iterationsPerLine > 0) {
    clock.reportedGapMs = msPerIteration * iterationsPerLine;
  }
}

/** Mean wall-clock gap between iteration lines, or NeoX's reported time when only one line was seen. */
export function meanGapMs(clock: StallClock): number | null {
  if (clock.firstIterAt !== null && clock.lastIterAt !== null && clock.linesSeen >= 2) {
    const observed = (clock.lastIterAt - clock.firstIterAt) / (clock.linesSeen - 1);
    // Lines read in one batch give 0; the trainer's own timing is the better guess then.
    return Math.max(observed, clock.reportedGapMs ?? 0);
  }
  return clock.reportedGapMs;
}

/** Null when not stalled; else how long it has been quiet and the threshold it crossed. */
export function checkStalled(
  clock: StallClock,
  now: number,
  opts: StallOptions,
): { quietMs: number; thresholdMs: number } | null {
  if (clock.lastIterAt === null) return null; // still starting up: no iteration yet
  const gap = meanGapMs(clock);
  if (gap === null) return null;
  const thresholdMs = Math.max(opts.k * gap, opts.minMs);
  const quietMs = now - clock.lastIterAt;
  return quietMs > thresholdMs ? { quietMs, thresholdMs } : null;
}
