import type { Redis } from 'ioredis';
import type { Messenger } from '../messenger.js';
import type { Reply } from '../reply.js';
import type { UploadEvent, UploadProgress } from './upload-progress.js';

// One Slack message per upload batch, edited in place as its uploads move (and one closing reply in its
// thread), instead of a message per event. Batch state lives in Redis so any worker replica can update it;
// edits are throttled per batch in each process.

export interface BatchStart {
  readonly batchId: string;
  readonly channel: string;
  readonly experiment: string;
  readonly steps: readonly number[];
  readonly requestedBy: string;
}

interface StepState {
  readonly state: 'queued' | 'waiting' | 'submitted' | 'running' | 'uploaded' | 'retrying' | 'failed';
  readonly detail: string;
}

const TERMINAL = new Set(['uploaded', 'failed']);

export class BatchThreads implements UploadProgress {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: string,
    private readonly messenger: Messenger,
    private readonly minEditIntervalMs = 3_000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Post the batch's message; returns where it went. */
  async start(b: BatchStart): Promise<{ channel: string; ts: string }> {
    const states: Record<string, string> = {};
    for (const s of b.steps)
      states[String(s)] = JSON.stringify({ state: 'queued', detail: '' } satisfies StepState);
    const meta = { channel: b.channel, experiment: b.experiment, requestedBy: b.requestedBy, ts: '' };
    const posted = await this.messenger.post({ channel: b.channel }, render(meta, states));
    const key = this.key(b.batchId);
    await this.redis
      .multi()
      .hset(`${key}:meta`, { ...meta, ts: posted.ts })
      .hset(`${key}:steps`, states)
      .expire(`${key}:meta`, 30 * 24 * 3600)
      .expire(`${key}:steps`, 30 * 24 * 3600)
      .exec();
    return posted;
  }

  async report(batchId: string, jobId: string, event: UploadEvent): Promise<void> {
    const step = /@(\d+)$/.exec(jobId)?.[1];
    if (!step) return;
    const key = this.key(batchId);
    if (!(await this.redis.exists(`${key}:meta`))) return; // a batch without a thread (CLI)
    await this.redis.hset(`${key}:steps`, step, JSON.stringify(toStepState(event)));
    this.scheduleEdit(batchId);
  }

  /** Render every batch with an edit pending now (the console's `wait`, before it says "settled"). */
  async flushAll(): Promise<void> {
    for (const batchId of [...this.timers.keys()]) await this.flush(batchId);
  }

  /** Render now (tests; shutdown). */
  async flush(batchId: string): Promise<void> {
    const t = this.timers.get(batchId);
    if (t) clearTimeout(t);
    this.timers.delete(batchId);
    await this.edit(batchId);
  }

  private scheduleEdit(batchId: string): void {
    if (this.timers.has(batchId)) return;
    this.timers.set(
      batchId,
      setTimeout(() => {
        this.timers.delete(batchId);
        this.edit(batchId).catch(this.onError);
      }, this.minEditIntervalMs),
    );
  }

  private async edit(batchId: string): Promise<void> {
    const messenger = this.messenger;
    const key = this.key(batchId);
    const [meta, states] = await Promise.all([
      this.redis.hgetall(`${key}:meta`),
      this.redis.hgetall(`${key}:steps`),
    ]);
    if (!meta.channel || !meta.ts) return;
    const reply = render(
      {
        channel: meta.channel,
        experiment: meta.experiment ?? '',
        requestedBy: meta.requestedBy ?? '',
        ts: meta.ts,
      },
      states,
    );
    if (messenger.update) await messenger.update({ channel: meta.channel, ts: meta.ts }, reply);
    const parsed = Object.values(states).map(parseStep);
    const done = parsed.length > 0 && parsed.every((s) => TERMINAL.has(s.state));
    // Exactly one closing message per batch, whichever replica sees the end first.
    if (done && (await this.redis.set(`${key}:closed`, '1', 'EX', 30 * 24 * 3600, 'NX')) === 'OK') {
      const ok = parsed.filter((s) => s.state === 'uploaded').length;
      await messenger.post(
        { channel: meta.channel, threadTs: meta.ts },
        {
          level: ok === parsed.length ? 'ok' : 'warn',
          text: `All ${parsed.length} uploads of \`${meta.experiment}\` finished: ${ok} uploaded, ${parsed.length - ok} failed.`,
        },
      );
    }
  }

  private key(batchId: string): string {
    return `${this.keys}batch:${batchId}`;
  }
}

function toStepState(e: UploadEvent): StepState {
  switch (e.kind) {
    case 'waiting':
      return { state: 'waiting', detail: e.why };
    case 'submitted':
      return { state: 'submitted', detail: `Slurm job ${e.slurmJobId}` };
    case 'running':
      return { state: 'running', detail: `Slurm job ${e.slurmJobId}` };
    case 'succeeded':
      return { state: 'uploaded', detail: e.repos.join(', ') };
    case 'retrying':
      return {
        state: 'retrying',
        detail: `${e.cause}; retry ${e.retry + 1} at ${new Date(e.retryAt).toISOString().slice(11, 19)} UTC`,
      };
    case 'failed':
      return { state: 'failed', detail: e.reason };
  }
}

function parseStep(raw: string): StepState {
  try {
    const v = JSON.parse(raw) as StepState;
    return typeof v.state === 'string' ? v : { state: 'queued', detail: '' };
  } catch {
    return { state: 'queued', detail: '' };
  }
}

function render(
  meta: { experiment: string; requestedBy: string; channel: string; ts: string },
  states: Record<string, string>,
): Reply {
  const rows = Object.entries(states)
    .map(([step, raw]) => ({ step: Number(step), ...parseStep(raw) }))
    .sort((a, b) => a.step - b.step);
  const count = (s: string) => rows.filter((r) => r.state === s).length;
  const uploaded = count('uploaded');
  const failed = count('failed');
  const done = uploaded + failed === rows.length;
  return {
    level: done ? (failed > 0 ? 'warn' : 'ok') : 'info',
    title: `Uploads of ${meta.experiment}: ${uploaded}/${rows.length} uploaded`,
    fields: [
      { label: 'uploaded', value: String(uploaded) },
      { label: 'running', value: String(count('running') + count('submitted')) },
      { label: 'waiting', value: String(count('queued') + count('waiting') + count('retrying')) },
      { label: 'failed', value: String(failed) },
    ],
    table: {
      columns: ['step', 'state', 'detail'],
      rows: rows.map((r) => [String(r.step), r.state, r.detail.slice(0, 200)]),
    },
    context: [`requested by <@${meta.requestedBy}>`],
    data: { experiment: meta.experiment, steps: rows },
  };
}
