import type { ClusterFiles } from '../cluster/cluster-files.js';
import { DEFAULT_MAX_READ_BYTES, type LogRead, type LogReadRequest } from '../cluster/log-files.js';
import type { Finding } from '../neox/failure-kinds.js';
import { LogScanner } from '../neox/log-scanner.js';
import { checkStalled, DEFAULT_STALL, noteIterations, type StallOptions } from '../neox/stall.js';
import {
  checkpointMessage,
  type FixSuggestion,
  finalMessage,
  findingMessage,
  noticeMessage,
  report50Message,
  watchStartMessage,
} from '../neox/watch-messages.js';
import type { WatchData } from '../neox/watch-state.js';

// One poll of one watched training job: read what the log gained since the last byte offset, classify it,
// decide what to post (into data.outbox) and whether the watch is over. The caller persists `data`
// before delivering the outbox.

/** Slurm's view of the job at this poll; null when squeue no longer lists it. */
export interface JobSnapshot {
  readonly state: string;
}

export interface FinalJobState {
  readonly state: string;
  readonly exitCode: string | null;
}

export interface WatchOptions {
  readonly reportAt: number;
  readonly stall: StallOptions;
  readonly maxReadBytes: number;
  /** After the report and the first checkpoint, read the log only every Nth poll. */
  readonly lightEvery: number;
  readonly tailLines: number;
  /** Polls without the job in squeue before it counts as gone, when it was never seen. */
  readonly goneAfterMisses: number;
}

export const DEFAULT_WATCH_OPTIONS: WatchOptions = {
  reportAt: 50,
  stall: DEFAULT_STALL,
  maxReadBytes: DEFAULT_MAX_READ_BYTES,
  lightEvery: 10,
  tailLines: 30,
  goneAfterMisses: 3,
};

export interface WatchStepDeps {
  /** The log's reads: one chunk per poll, its end once the job is gone. */
  readonly files: Pick<ClusterFiles, 'readLogChunk' | 'tailLog'>;
  readonly now: () => number;
  readonly options: WatchOptions;
  /** Final state once the job left squeue (scontrol/sacct); null when Slurm no longer knows. */
  readonly finalState: (jobId: string) => Promise<FinalJobState | null>;
  readonly suggestFix: (d: WatchData, f: Finding) => Promise<FixSuggestion | null>;
  /** Read new log bytes (default: one remote command per log; the monitor batches all logs of a poll). */
  readonly readLog?: (req: LogReadRequest) => Promise<LogRead>;
}

const ACTIVE_READ = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED']);

export async function stepWatch(deps: WatchStepDeps, d: WatchData, snap: JobSnapshot | null): Promise<void> {
  if (d.done) return;
  const opts = deps.options;
  d.polls += 1;
  if (!d.reported.thread) {
    d.outbox.push(watchStartMessage(d));
    d.reported.thread = true;
  }
  if (snap) {
    d.slurmState = snap.state;
    d.missing = 0;
  } else {
    d.missing += 1;
  }
  const gone = snap === null && (d.slurmState !== null || d.missing >= opts.goneAfterMisses);
  if (snap === null && !gone) return;

  const light = d.reported.report50 && (d.reported.checkpoint !== null || d.reported.findings.length > 0);
  const wantRead =
    gone || (snap !== null && ACTIVE_READ.has(snap.state) && (!light || d.polls % opts.lightEvery === 0));
  if (wantRead) await readNew(deps, d, gone);

  if (snap?.state === 'RUNNING' && !d.reported.findings.includes('stalled')) {
    const st = checkStalled(d.clock, deps.now(), opts.stall);
    if (st) {
      const f: Finding = {
        kind: 'stalled',
        action: 'escalate',
        line: d.scan.lastIterationLine ?? d.scan.linesSeen,
        excerpt: `no new iteration for ${Math.round(st.quietMs / 1000)} s (threshold ${Math.round(st.thresholdMs / 1000)} s); last iteration ${d.scan.lastIteration ?? '—'}`,
      };
      d.scan.findings.push(f);
      await announce(deps, d, [f]);
    }
  }

  if (gone) {
    const fin = await deps.finalState(d.req.jobId);
    const tail = await deps.files.tailLog(d.req.logPath, opts.tailLines);
    d.outbox.push(
      finalMessage(d, fin?.state ?? 'ENDED (state no longer known to Slurm)', fin?.exitCode ?? null, tail),
    );
    d.reported.final = true;
    d.done = true;
  }
}

async function readNew(deps: WatchStepDeps, d: WatchData, toEnd: boolean): Promise<void> {
  const opts = deps.options;
  const scanner = LogScanner.adopt(d.scan);
  // A finished job's log is read to its end; a running one gets one chunk per poll.
  for (let round = 0; round < (toEnd ? 64 : 2); round++) {
    const read = deps.readLog ?? ((req: LogReadRequest) => deps.files.readLogChunk(req));
    const r = await read({
      file: d.req.logPath,
      offset: d.offset,
      save: d.reported.checkpoint === null ? d.req.save : null,
      maxBytes: opts.maxReadBytes,
    });
    if (r.status === 'missing') break;
    if (d.inode !== null && r.inode !== d.inode) {
      d.outbox.push(
        noticeMessage(
          d,
          `the log file was replaced (rotated): reading the new file from the start.`,
          'log_rotated',
        ),
      );
      d.inode = r.inode;
      d.offset = 0;
      scanner.state.partial = '';
      continue;
    }
    d.inode = r.inode;
    if (r.start < d.offset) {
      d.outbox.push(
        noticeMessage(
          d,
          `the log shrank from ${d.offset} to ${r.size} bytes (truncated): reading it from the start again.`,
          'log_truncated',
        ),
      );
      scanner.state.partial = '';
    }
    const prevIter = scanner.state.lastIteration;
    const upd = scanner.feed(r.text);
    d.offset = r.start + r.bytes;
    d.bytesRead += r.bytes;
    if (upd.iterations.length > 0) {
      const last = upd.iterations.at(-1);
      const perLine = last ? (last.iteration - (prevIter ?? 0)) / upd.iterations.length : null;
      noteIterations(d.clock, deps.now(), upd.iterations.length, scanner.state.lastMsPerIteration, perLine);
    }
    const settled = upd.iterations.length === 0 && r.bytes === 0 ? scanner.settle() : { findings: [] };
    const fin = toEnd && r.bytes < opts.maxReadBytes ? scanner.flush() : { findings: [] };
    d.scan = scanner.state;
    await announce(deps, d, [...upd.findings, ...settled.findings, ...fin.findings]);
    const transient = d.scan.findings.find((f) => f.action === 'transient');
    if (
      transient &&
      !d.reported.resumed &&
      upd.iterations.length > 0 &&
      (d.scan.lastIterationLine ?? 0) > transient.line
    ) {
      d.reported.resumed = true;
      d.outbox.push(
        noticeMessage(
          d,
          `iterations resumed after the ${transient.kind}: now at iteration ${d.scan.lastIteration}.`,
          'resumed',
        ),
      );
    }
    if (r.checkpoint && d.reported.checkpoint === null) {
      d.reported.checkpoint = r.checkpoint;
      if (d.reported.report50) d.outbox.push(checkpointMessage(d));
    }
    if (!d.reported.report50 && (d.scan.lastIteration ?? 0) >= opts.reportAt) {
      d.reported.report50 = true;
      d.outbox.push(report50Message(d, opts.reportAt));
    }
    if (r.bytes < opts.maxReadBytes) break;
  }
  d.scan = scanner.state;
}

async function announce(deps: WatchStepDeps, d: WatchData, findings: readonly Finding[]): Promise<void> {
  for (const f of findings) {
    if (d.reported.findings.includes(f.kind)) continue;
    d.reported.findings.push(f.kind);
    const fix = f.action === 'auto-fix' ? await deps.suggestFix(d, f).catch(() => null) : null;
    d.outbox.push(findingMessage(d, f, fix));
  }
}
