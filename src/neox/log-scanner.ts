import { type FailureKind, type Finding, finding } from './failure-kinds.js';
import { type IterationLine, type LossValue, parseLogLine, stripPrefix } from './log-line.js';

// Incremental parser + classifier for a GPT-NeoX log. Its whole state is plain JSON so a durable watch can
// store it in its BullMQ job and resume after a restart without re-reading the log.

export interface LossPoint {
  readonly iteration: number;
  readonly loss: LossValue;
}

interface Traceback {
  /** 'frames' inside the stack, 'ended' after the exception line, 'chained' after "During handling …". */
  phase: 'frames' | 'ended' | 'chained';
  known: boolean;
  exceptionLine: number;
  tail: string[];
}

export interface ScanState {
  readonly version: 1;
  /** The last line read so far without its newline: completed by the next chunk. */
  partial: string;
  /** Complete lines processed (so the next line's number is linesSeen + 1). */
  linesSeen: number;
  lastIteration: number | null;
  trainIters: number | null;
  iterationsLogged: number;
  lastIterationLine: number | null;
  lastLoss: LossValue | null;
  lastMsPerIteration: number | null;
  minLoss: number | null;
  finiteLosses: number;
  /** The last RECENT_LOSSES loss points, exact. */
  recent: LossPoint[];
  /** The whole curve, halved in resolution whenever it reaches MAX_CURVE_POINTS. */
  curve: LossPoint[];
  curveStride: number;
  curveSkip: number;
  findings: Finding[];
  /** Open tracebacks by line prefix (host or rank; '' for none): interleaved ranks stay apart. */
  tracebacks: Record<string, Traceback>;
}

export const RECENT_LOSSES = 20;
export const MAX_CURVE_POINTS = 200;
const MAX_TRACEBACK_TAIL = 6;
const MAX_PARTIAL_CHARS = 64 * 1024;

// Order matters: a missing `.bin` under a directory named "checkpoints" is a data problem.
const LINE_RULES: readonly (readonly [FailureKind, RegExp])[] = [
  ['cuda_oom', /CUDA out of memory|\b(?:torch\.)?(?:cuda\.)?OutOfMemoryError\b/],
  ['host_oom', /Detected \d+ oom[-_]kill events?/i],
  ['checkpoint_load_skipped', /Unable to load checkpoint\./],
  ['data_path_not_found', /Dataset does not exist:|Data path not found|FileNotFoundError\b.*\.(?:bin|idx)\b/],
  ['checkpoint_not_found', /FileNotFoundError\b.*(?:checkpoint|global_step)/i],
  ['module_not_found', /ModuleNotFoundError: No module named/],
  ['nccl_timeout', /Watchdog caught collective operation timeout|NCCL error|NCCL timeout/i],
  ['time_limit', /CANCELLED AT \S+ DUE TO TIME LIMIT/],
];

const TRACEBACK_HEADER = /^Traceback \(most recent call last\):/;
const CHAIN_MARKER = /^(?:During handling of the above exception|The above exception was the direct cause)/;

export function createScanState(): ScanState {
  return {
    version: 1,
    partial: '',
    linesSeen: 0,
    lastIteration: null,
    trainIters: null,
    iterationsLogged: 0,
    lastIterationLine: null,
    lastLoss: null,
    lastMsPerIteration: null,
    minLoss: null,
    finiteLosses: 0,
    recent: [],
    curve: [],
    curveStride: 1,
    curveSkip: 0,
    findings: [],
    tracebacks: {},
  };
}

export interface ScanUpdate {
  readonly findings: readonly Finding[];
  readonly iterations: readonly IterationLine[];
}

export class LogScanner {
  readonly state: ScanState;
  private newFindings: Finding[] = [];
  private newIterations: IterationLine[] = [];

  constructor(state?: ScanState) {
    this.state = state ? structuredClone(state) : createScanState();
  }

  /** Work on `state` in place (the caller owns it and stores it afterwards): no copy per poll. */
  static adopt(state: ScanState): LogScanner {
    const s = new LogScanner();
    (s as { state: ScanState }).state = state;
    return s;
  }

  /** Feed the next chunk of the log; complete lines are processed, a trailing partial line is kept. */
  feed(chunk: string): ScanUpdate {
    const text = this.state.partial + chunk;
    const lines = text.split('\n');
    const last = lines.pop() ?? '';
    for (const line of lines) this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    // A "line" this long is not a log line worth keeping whole (e.g. a progress bar without newlines).
    this.state.partial = last.length > MAX_PARTIAL_CHARS ? last.slice(-MAX_PARTIAL_CHARS) : last;
    return this.take();
  }

  /**
   * The log is quiet: report a traceback that has ended (its exception line was read) even though no later
   * line has confirmed it is not chained. The partial line stays.
   */
  settle(): ScanUpdate {
    for (const key of Object.keys(this.state.tracebacks)) {
      const tb = this.state.tracebacks[key];
      if (tb?.phase === 'ended') this.closeTraceback(key, tb);
    }
    return this.take();
  }

  /** End of the log: the partial line counts as a line, open tracebacks are closed. */
  flush(): ScanUpdate {
    if (this.state.partial !== '') {
      const p = this.state.partial;
      this.state.partial = '';
      this.line(p);
    }
    return this.settle();
  }

  private take(): ScanUpdate {
    const out = { findings: this.newFindings, iterations: this.newIterations };
    this.newFindings = [];
    this.newIterations = [];
    return out;
  }

  private report(kind: FailureKind, line: number, text: string): void {
    if (this.state.findings.some((f) => f.kind === kind)) return;
    const at = this.state.lastIteration;
    const f = at === null ? finding(kind, line, text) : { ...finding(kind, line, text), iteration: at };
    this.state.findings.push(f);
    this.newFindings.push(f);
  }

  private line(raw: string): void {
    const s = this.state;
    s.linesSeen += 1;
    const n = s.linesSeen;
    const parsed = parseLogLine(raw);
    if (parsed?.kind === 'iteration') {
      this.iteration(parsed, n, raw);
      return;
    }
    if (parsed?.kind === 'validation') return;

    let matched: FailureKind | null = null;
    for (const [kind, re] of LINE_RULES) {
      if (re.test(raw)) {
        matched = kind;
        this.report(kind, n, raw);
        break;
      }
    }
    this.traceback(raw, n, matched !== null);
  }

  private traceback(raw: string, n: number, known: boolean): void {
    const { prefix, content } = stripPrefix(raw);
    const key = prefix ?? '';
    const tbs = this.state.tracebacks;
    const tb = tbs[key];
    const isHeader = TRACEBACK_HEADER.test(content);
    const indented = content === '' || /^\s/.test(content);
    if (tb) {
      if (tb.phase === 'frames') {
        tb.tail.push(content);
        if (!indented) {
          tb.phase = 'ended';
          tb.exceptionLine = n;
        }
      } else if (tb.phase === 'ended') {
        if (content.trim() === '') return;
        if (CHAIN_MARKER.test(content)) {
          tb.phase = 'chained';
        } else if (indented) {
          tb.tail.push(content); // continuation of a multi-line exception message
        } else {
          this.closeTraceback(key, tb);
          if (isHeader) this.openTraceback(key, content, known);
          return;
        }
      } else if (isHeader) {
        tb.phase = 'frames';
        tb.tail.push(content);
      } else if (content.trim() !== '') {
        tb.tail.push(content);
      }
      if (known) tb.known = true;
      if (tb.tail.length > MAX_TRACEBACK_TAIL) tb.tail.splice(0, tb.tail.length - MAX_TRACEBACK_TAIL);
      return;
    }
    if (isHeader) this.openTraceback(key, content, known);
  }

  private openTraceback(key: string, content: string, known: boolean): void {
    this.state.tracebacks[key] = { phase: 'frames', known, exceptionLine: 0, tail: [content] };
  }

  private closeTraceback(key: string, tb: Traceback): void {
    delete this.state.tracebacks[key];
    if (tb.known || tb.exceptionLine === 0) return;
    this.report('unknown_error', tb.exceptionLine, tb.tail.slice(-4).join('\n'));
  }

  private iteration(it: IterationLine, n: number, raw: string): void {
    const s = this.state;
    s.iterationsLogged += 1;
    s.lastIteration = it.iteration;
    s.trainIters = it.trainIters;
    s.lastIterationLine = n;
    if (it.msPerIteration !== null) s.lastMsPerIteration = it.msPerIteration;
    this.newIterations.push(it);
    const loss = it.lmLoss;
    if (loss === null) return;
    s.lastLoss = loss;
    const point = { iteration: it.iteration, loss };
    s.recent.push(point);
    if (s.recent.length > RECENT_LOSSES) s.recent.shift();
    this.addToCurve(point);
    if (loss === 'NAN') {
      this.report('nan_loss', n, raw);
      return;
    }
    if (loss === 'INF' || loss === '-INF') {
      this.report('loss_spike', n, raw);
      return;
    }
    if (s.minLoss !== null && s.finiteLosses >= 3 && loss > 2 * s.minLoss) this.report('loss_spike', n, raw);
    s.finiteLosses += 1;
    s.minLoss = s.minLoss === null ? loss : Math.min(s.minLoss, loss);
  }

  private addToCurve(p: LossPoint): void {
    const s = this.state;
    if (s.curveSkip > 0) {
      s.curveSkip -= 1;
      return;
    }
    s.curve.push(p);
    s.curveSkip = s.curveStride - 1;
    if (s.curve.length >= MAX_CURVE_POINTS) {
      s.curve = s.curve.filter((_, i) => i % 2 === 0);
      s.curveStride *= 2;
      s.curveSkip = s.curveStride - 1;
    }
  }
}
