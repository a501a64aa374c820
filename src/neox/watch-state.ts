import type { Reply } from '../reply.js';
import * as z from '../zod.js';
import type { FailureKind } from './failure-kinds.js';
import { createScanState, type ScanState } from './log-scanner.js';
import { createStallClock, type StallClock } from './stall.js';

// Everything a training watch knows, stored in its BullMQ job's data after every step so a restarted bot
// resumes where it stopped: byte offset, parser state, and what was already posted.

export const WatchRequest = z.object({
  jobId: z.string().check(z.regex(/^\d{1,12}$/)),
  logPath: z.string().check(z.startsWith('/')),
  configPath: z.nullable(z.string().check(z.startsWith('/'))),
  save: z.nullable(z.string().check(z.startsWith('/'))),
  saveInterval: z.nullable(z.number().check(z.int(), z.positive())),
  /** Slack user id of the submitter (mentioned on escalations), or null. */
  submitter: z.nullable(z.string()),
  channel: z.string().check(z.minLength(1)),
  /** Post updates under this message; when absent the watch starts its own thread. */
  threadTs: z.nullable(z.string()),
});
export type WatchRequest = z.infer<typeof WatchRequest>;

export interface WatchReported {
  thread: boolean;
  report50: boolean;
  checkpoint: string | null;
  findings: FailureKind[];
  /** Iterations came back after a transient failure (said once). */
  resumed: boolean;
  final: boolean;
}

export interface WatchData {
  readonly v: 1;
  readonly req: WatchRequest;
  offset: number;
  inode: string | null;
  scan: ScanState;
  clock: StallClock;
  /** Slurm state at the last poll; `missing` counts consecutive polls without the job in squeue. */
  slurmState: string | null;
  missing: number;
  polls: number;
  threadTs: string | null;
  reported: WatchReported;
  /** Messages decided but not yet posted (posted, then removed, so a restart neither loses nor repeats). */
  outbox: Reply[];
  /**
   * Messages posted so far: the head of the outbox is message number `delivered`, the key the messenger
   * remembers it by (a crash after the post and before this count is saved does not post it twice).
   * Absent in watches started before it was kept: 0.
   */
  delivered?: number;
  /** This watch's own name for those keys (a Slurm job id comes back after the cluster's ids restart). */
  key?: string;
  bytesRead: number;
  done: boolean;
}

export function createWatchData(req: WatchRequest): WatchData {
  return {
    v: 1,
    req,
    offset: 0,
    inode: null,
    scan: createScanState(),
    clock: createStallClock(),
    slurmState: null,
    missing: 0,
    polls: 0,
    threadTs: req.threadTs,
    reported: {
      thread: req.threadTs !== null,
      report50: false,
      checkpoint: null,
      findings: [],
      resumed: false,
      final: false,
    },
    outbox: [],
    delivered: 0,
    key: crypto.randomUUID(),
    bytesRead: 0,
    done: false,
  };
}
