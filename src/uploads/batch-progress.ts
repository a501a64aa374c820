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
    const notify = SLACK_USER.test(b.requestedBy) ? { notify: b.requestedBy } : {};
    const posted = await this.messenger.post({ channel: b.channel, ...notify }, render(meta, states));
    const key = this.key(b.batchId);
    // Where it really went: the requester's DM when the channel refused the bot.
    await this.redis
      .multi()
      .hset(`${key}:meta`, { ...meta, channel: posted.channel, ts: posted.ts })
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
    // A refused edit (Slack down, message deleted) must not keep the batch from saying it is finished.
    if (messenger.update)
      await messenger.update({ channel: meta.channel, ts: meta.ts }, reply).catch(this.onError);
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
          ...(parsed.length > SMALL_BATCH
            ? {
                context: ['The per-step table is attached.'],
                files: [stepsCsv(meta.experiment ?? '', states)],
              }
            : {}),
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

/** Up to this many steps the message shows a row per step; beyond, counts and what needs attention. */
const SMALL_BATCH = 20;
const MAX_LISTED = 10;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
/** Slack's header limit (docs/domain.md#block-kit-limits), less the level icon. */
const TITLE_MAX = 140;

function stepRows(states: Record<string, string>) {
  return Object.entries(states)
    .map(([step, raw]) => ({ step: Number(step), ...parseStep(raw) }))
    .sort((a, b) => a.step - b.step);
}

function stepsCsv(experiment: string, states: Record<string, string>) {
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = [
    'step,state,detail',
    ...stepRows(states).map((r) => [String(r.step), r.state, r.detail].map(cell).join(',')),
  ];
  return {
    filename: `uploads-${experiment}.csv`.replace(/[^A-Za-z0-9._-]+/g, '-'),
    title: `Uploads of ${experiment}: every step`,
    content: `${lines.join('\r\n')}\r\n`,
  };
}

/** The title keeps its count whatever the experiment's name: the name is shortened in the middle. */
function title(experiment: string, uploaded: number, total: number): string {
  const tail = `: ${uploaded}/${total} uploaded`;
  const room = TITLE_MAX - 'Uploads of '.length - tail.length;
  const name =
    experiment.length <= room
      ? experiment
      : `${experiment.slice(0, Math.ceil((room - 1) / 2))}…${experiment.slice(-Math.floor((room - 1) / 2))}`;
  return `Uploads of ${name}${tail}`;
}

function render(
  meta: { experiment: string; requestedBy: string; channel: string; ts: string },
  states: Record<string, string>,
): Reply {
  const rows = stepRows(states);
  const count = (s: string) => rows.filter((r) => r.state === s).length;
  const uploaded = count('uploaded');
  const failed = count('failed');
  const done = uploaded + failed === rows.length;
  const small = rows.length <= SMALL_BATCH;
  const requester = SLACK_USER.test(meta.requestedBy) ? `<@${meta.requestedBy}>` : meta.requestedBy;
  return {
    level: done ? (failed > 0 ? 'warn' : 'ok') : 'info',
    title: title(meta.experiment, uploaded, rows.length),
    ...(small ? {} : { text: compactLines(rows).join('\n') }),
    fields: [
      { label: 'uploaded', value: String(uploaded) },
      { label: 'running', value: String(count('running') + count('submitted')) },
      { label: 'waiting', value: String(count('queued') + count('waiting') + count('retrying')) },
      { label: 'failed', value: String(failed) },
    ],
    ...(small
      ? {
          table: {
            columns: ['step', 'state', 'detail'],
            rows: rows.map((r) => [String(r.step), r.state, r.detail.slice(0, 200)]),
          },
        }
      : {}),
    context: [`requested by ${requester}`],
    data: { experiment: meta.experiment, steps: rows },
  };
}

/** A long batch: the current Hub pause, what runs, what failed (each list bounded), and where the rest is. */
function compactLines(rows: ReturnType<typeof stepRows>): string[] {
  const out: string[] = [];
  const pause = rows.find((r) => r.state === 'waiting' && r.detail)?.detail;
  if (pause) out.push(`*Now:* ${pause.slice(0, 200)}`);
  const retrying = rows.filter((r) => r.state === 'retrying');
  if (retrying[0])
    out.push(`*Retrying* ${retrying.length}: step ${retrying[0].step} ${retrying[0].detail.slice(0, 200)}`);
  const active = rows.filter((r) => r.state === 'running' || r.state === 'submitted');
  if (active.length > 0)
    out.push(
      `*Running:* ${active
        .slice(0, MAX_LISTED)
        .map((r) => `${r.step} (${r.detail})`)
        .join(', ')}${active.length > MAX_LISTED ? ` and ${active.length - MAX_LISTED} more` : ''}`,
    );
  const failed = rows.filter((r) => r.state === 'failed');
  if (failed.length > 0) {
    out.push('*Failed:*');
    for (const r of failed.slice(0, MAX_LISTED)) out.push(`• step ${r.step}: ${r.detail.slice(0, 200)}`);
    if (failed.length > MAX_LISTED) out.push(`… and ${failed.length - MAX_LISTED} more failed`);
  }
  out.push(`${rows.length} steps: the full per-step table is attached to the closing message in the thread.`);
  return out;
}
