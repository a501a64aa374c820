import type { Job, Queue } from 'bullmq';
import { MONITOR_QUEUE } from '../../jobs/monitor-training.js';
import type { WatchData } from '../neox/watch-state.js';
import type { QueueFactory } from '../queue/queue-factory.js';
import { UPLOAD_QUEUE, type UploadJobData } from '../uploads/upload-job.js';

// The console's `wait`: block until the background work started since `since` has settled — every training
// watch past its 50-iteration report (with nothing left to post) or ended, every upload finished or failed
// for good — printing what it waits for, bounded by a timeout it names.

export interface SessionWorkOptions {
  readonly since: number;
  readonly timeoutMs: number;
  readonly say: (line: string) => void;
  readonly pollMs?: number;
  /** Runs once the work has settled, before `wait` says so (the batches' throttled last edits). */
  readonly flush?: () => Promise<void>;
}

const OPEN_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export async function waitForSessionWork(factory: QueueFactory, o: SessionWorkOptions): Promise<boolean> {
  const watches = factory.queue<WatchData>(MONITOR_QUEUE);
  const uploads = factory.queue<UploadJobData>(UPLOAD_QUEUE);
  const started = Date.now();
  const limitS = Math.round(o.timeoutMs / 1000);
  let last = '';
  for (;;) {
    const [w, u] = await Promise.all([watchSummary(watches, o.since), uploadSummary(uploads, o.since)]);
    const line = [w.text, u.text].filter(Boolean).join('; ');
    if (w.open + u.open === 0) {
      await o.flush?.();
      const elapsed = Math.round((Date.now() - started) / 1000);
      o.say(
        line === ''
          ? 'wait: nothing was started in this session'
          : `wait: settled after ${elapsed} s — ${line}`,
      );
      return true;
    }
    if (line !== last) {
      o.say(`wait: ${line} (up to ${limitS} s)`);
      last = line;
    }
    if (Date.now() - started > o.timeoutMs) {
      o.say(`wait: gave up after ${limitS} s — still open: ${line}`);
      return false;
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

interface Summary {
  readonly open: number;
  readonly text: string;
}

async function sessionJobs<D>(queue: Queue<D>, since: number): Promise<Job<D>[]> {
  const jobs: (Job<D> | undefined)[] = await queue.getJobs([...OPEN_STATES, 'completed', 'failed']);
  return jobs.flatMap((j) => (j !== undefined && j.timestamp >= since ? [j] : []));
}

/** A watch is settled once its report is out and nothing waits to be posted, or once it has ended. */
async function watchSummary(queue: Queue<WatchData>, since: number): Promise<Summary> {
  const jobs = await sessionJobs(queue, since);
  const parts: string[] = [];
  let open = 0;
  for (const j of jobs) {
    const d = j.data;
    const ended = d.done || j.finishedOn !== undefined;
    const settled = ended || (d.reported.report50 && d.outbox.length === 0);
    if (!settled) open++;
    const at = d.scan.lastIteration === null ? 'no iteration yet' : `iteration ${d.scan.lastIteration}`;
    const state = ended ? 'ended' : settled ? `reported, ${at}` : at;
    parts.push(`job ${d.req.jobId} ${state}`);
  }
  return {
    open,
    text: jobs.length === 0 ? '' : `training watch${jobs.length === 1 ? '' : 'es'}: ${parts.join(', ')}`,
  };
}

async function uploadSummary(queue: Queue<UploadJobData>, since: number): Promise<Summary> {
  const jobs = await sessionJobs(queue, since);
  if (jobs.length === 0) return { open: 0, text: '' };
  const states = await Promise.all(jobs.map((j) => j.getState()));
  const count = (s: string) => states.filter((x) => x === s).length;
  const done = count('completed');
  const failed = count('failed');
  const open = jobs.length - done - failed;
  const bits = [
    `${done} done`,
    ...(failed > 0 ? [`${failed} failed`] : []),
    ...(open > 0 ? [`${open} to go`] : []),
  ];
  return { open, text: `${jobs.length} upload${jobs.length === 1 ? '' : 's'}: ${bits.join(', ')}` };
}
