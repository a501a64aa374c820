import type { Finding } from './failure-kinds.js';
import { type LossValue, lossToNumber } from './log-line.js';
import { LogScanner, type ScanState } from './log-scanner.js';

/** The `chatops train scan-log <file> --json` contract (docs/json-contracts.md); external checks rely on its shape. */
export interface ScanLogResult {
  readonly lastIteration: number | null;
  readonly trainIters: number | null;
  readonly iterationsLogged: number;
  readonly lastLoss: number | null;
  readonly findings: readonly Finding[];
}

/** JSON has no NaN or infinity: those losses are reported as null (the findings say what happened). */
export function lossForJson(v: LossValue | null): number | null {
  if (v === null) return null;
  const n = lossToNumber(v);
  return Number.isFinite(n) ? n : null;
}

export function scanResultOf(state: ScanState): ScanLogResult {
  return {
    lastIteration: state.lastIteration,
    trainIters: state.trainIters,
    iterationsLogged: state.iterationsLogged,
    lastLoss: lossForJson(state.lastLoss),
    findings: state.findings.map((f) => ({
      kind: f.kind,
      action: f.action,
      line: f.line,
      excerpt: f.excerpt,
    })),
  };
}

/** Scan a whole log at once (the log is complete: its last line need not end with a newline). */
export function scanLog(text: string): ScanLogResult {
  const scanner = new LogScanner();
  scanner.feed(text);
  scanner.flush();
  return scanResultOf(scanner.state);
}
