// One line of a GPT-NeoX training log (megatron/logging.py `training_log`, `evaluate_and_print_results`).
// Python's `{:.6E}` prints NaN and infinity as NAN, INF, -INF; those are kept as tokens because JSON (job
// data in Redis) cannot carry NaN or Infinity.

export type LossValue = number | 'NAN' | 'INF' | '-INF';

export interface IterationLine {
  readonly kind: 'iteration';
  readonly host: string | null;
  readonly iteration: number;
  readonly trainIters: number;
  readonly msPerIteration: number | null;
  readonly learningRate: number | null;
  readonly lmLoss: LossValue | null;
  readonly lossScale: number | null;
  readonly skippedIterations: number | null;
  readonly nanIterations: number | null;
}

export interface ValidationLine {
  readonly kind: 'validation';
  readonly host: string | null;
  readonly iteration: number;
  readonly lmLoss: LossValue | null;
}

export type LogLine = IterationLine | ValidationLine;

// Launchers prefix lines with the host (`gpu250: `, pdsh/deepspeed) or the rank (`[default0]:`, torchrun).
// Host names are lower-case here on purpose: `RuntimeError: …` must not be mistaken for a host prefix.
const HOST_PREFIX = /^([a-z0-9][a-z0-9._-]{0,62}): /;
const RANK_PREFIX = /^\[([A-Za-z0-9_.-]{1,40})\]:\s?/;

export interface Stripped {
  readonly prefix: string | null;
  readonly content: string;
}

export function stripPrefix(line: string): Stripped {
  const h = HOST_PREFIX.exec(line);
  if (h?.[1]) return { prefix: h[1], content: line.slice(h[0].length) };
  const r = RANK_PREFIX.exec(line);
  if (r?.[1]) return { prefix: r[1], content: line.slice(r[0].length) };
  return { prefix: null, content: line };
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export function parseLossValue(raw: string): LossValue | null {
  const s = raw.trim();
  const upper = s.toUpperCase();
  if (upper === 'NAN' || upper === '-NAN') return 'NAN';
  if (upper === 'INF' || upper === '+INF' || upper === 'INFINITY') return 'INF';
  if (upper === '-INF' || upper === '-INFINITY') return '-INF';
  if (!NUMBER.test(s)) return null;
  return Number(s);
}

function parseFinite(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const s = raw.trim();
  return NUMBER.test(s) ? Number(s) : null;
}

// `iteration       50/  143000` — the slash separates it from `validation results at iteration 100`.
const ITERATION_FIELD = /^iteration\s+(\d+)\s*\/\s*(\d+)$/;
const VALIDATION = /^\s*validation results at iteration (\d+)\s*\|(.*)$/;

/** Parse one log line (without its newline); anything that is not an iteration or validation line is null. */
export function parseLogLine(line: string): LogLine | null {
  if (!line.includes('iteration')) return null;
  const { prefix, content } = stripPrefix(line);
  const v = VALIDATION.exec(content);
  if (v?.[1] !== undefined) {
    const loss = /\blm_loss value:\s*(\S+)/.exec(v[2] ?? '');
    return {
      kind: 'validation',
      host: prefix,
      iteration: Number(v[1]),
      lmLoss: loss?.[1] ? parseLossValue(loss[1]) : null,
    };
  }
  const segments = content.split('|').map((s) => s.trim());
  let iteration: number | null = null;
  let trainIters = 0;
  const fields = new Map<string, string>();
  for (const seg of segments) {
    const it = ITERATION_FIELD.exec(seg);
    if (it) {
      iteration = Number(it[1]);
      trainIters = Number(it[2]);
      continue;
    }
    const colon = seg.lastIndexOf(':');
    if (colon > 0) fields.set(seg.slice(0, colon).trim(), seg.slice(colon + 1).trim());
  }
  // A real iteration line always carries the timing field; requiring it keeps stray "iteration 3/10" text out.
  if (iteration === null || !fields.has('elapsed time per iteration (ms)')) return null;
  const loss = fields.get('lm_loss');
  return {
    kind: 'iteration',
    host: prefix,
    iteration,
    trainIters,
    msPerIteration: parseFinite(fields.get('elapsed time per iteration (ms)')),
    learningRate: parseFinite(fields.get('learning rate')),
    lmLoss: loss === undefined ? null : parseLossValue(loss),
    lossScale: parseFinite(fields.get('loss scale')),
    skippedIterations: parseFinite(fields.get('number of skipped iterations')),
    nanIterations: parseFinite(fields.get('number of nan iterations')),
  };
}

export function lossToNumber(v: LossValue): number {
  if (v === 'NAN') return Number.NaN;
  if (v === 'INF') return Number.POSITIVE_INFINITY;
  if (v === '-INF') return Number.NEGATIVE_INFINITY;
  return v;
}
