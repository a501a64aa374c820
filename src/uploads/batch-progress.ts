import type { Redis } from 'ioredis';
import { type Messenger, UndeliverableError } from '../messenger.js';
import type { Reply } from '../reply.js';
import type { UploadEvent, UploadProgress } from './upload-progress.js';

// One Slack message per upload batch, edited in place as its uploads move (and one closing reply in its
// thread), instead of a message per event. Batch state lives in Redis so any worker replica can update it;
// edits are throttled per batch in each process.
// Nothing is lost to a Slack outage or a crash: an edit or closing reply that fails for a passing reason
// (5xx, rate limits past the messenger's retries, the network) is tried again with backoff, and a batch
// stays in the open set until its closing reply is out, so a worker that starts renders every open batch
// again (`recover`): the last edit a crashed process had scheduled is not lost with it.

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

/** How long one process may hold a batch's closing reply before another may send it (its crash). */
const CLOSE_CLAIM_MS = 60_000;
/** Retries of a failed edit: from the edit interval, doubling, up to this. */
const MAX_RETRY_MS = 60_000;
const BATCH_TTL_S = 30 * 24 * 3600;

export class BatchThreads implements UploadProgress {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Failed renders in a row per batch (the retry backoff). */
  private readonly failures = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: string,
    private readonly messenger: Messenger,
    private readonly minEditIntervalMs = 3_000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Render every batch still open (a worker's start): what a crashed process had not sent goes now. */
  async recover(): Promise<number> {
    const open = await this.redis.smembers(this.openKey());
    for (const batchId of open) {
      if (!(await this.redis.exists(`${this.key(batchId)}:meta`))) {
        await this.redis.srem(this.openKey(), batchId); // expired
        continue;
      }
      await this.edit(batchId).catch(this.onError);
    }
    return open.length;
  }

  /** Stop retrying (shutdown): what is still open is rendered by the next worker's `recover`. */
  stop(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

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
      .expire(`${key}:meta`, BATCH_TTL_S)
      .expire(`${key}:steps`, BATCH_TTL_S)
      .sadd(this.openKey(), b.batchId)
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

  private scheduleEdit(batchId: string, delayMs = this.minEditIntervalMs): void {
    if (this.timers.has(batchId) || this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(batchId);
      this.edit(batchId).catch((err: unknown) => {
        // Redis itself failed: the state is still there once it is back.
        this.onError(err);
        this.retryLater(batchId);
      });
    }, delayMs);
    t.unref?.();
    this.timers.set(batchId, t);
  }

  private retryLater(batchId: string): void {
    const n = (this.failures.get(batchId) ?? 0) + 1;
    this.failures.set(batchId, n);
    this.scheduleEdit(batchId, Math.min(MAX_RETRY_MS, this.minEditIntervalMs * 2 ** (n - 1)));
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
    let again = false;
    const failed = (err: unknown) => {
      this.onError(err);
      // Refused for good (the message or channel is gone): trying again would fail the same way.
      if (!(err instanceof UndeliverableError)) again = true;
    };
    // A failed edit must not keep the batch from saying it is finished.
    if (messenger.update) await messenger.update({ channel: meta.channel, ts: meta.ts }, reply).catch(failed);
    const parsed = Object.values(states).map(parseStep);
    const done = parsed.length > 0 && parsed.every((s) => TERMINAL.has(s.state));
    // Exactly one closing message per batch, whichever replica sees the end first: a claim that expires
    // (its holder may crash), and the message keyed `once`, so a claim taken again after a crash that
    // followed the post does not post it twice.
    const closedKey = `${key}:closed`;
    if (done && (await this.redis.set(closedKey, 'sending', 'PX', CLOSE_CLAIM_MS, 'NX')) === 'OK') {
      const ok = parsed.filter((s) => s.state === 'uploaded').length;
      const sent = await messenger
        .post(
          { channel: meta.channel, threadTs: meta.ts, once: `batch:${batchId}:closed` },
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
        )
        .then(
          () => true,
          (err: unknown) => {
            failed(err);
            return err instanceof UndeliverableError;
          },
        );
      if (sent) {
        await this.redis.multi().set(closedKey, '1', 'EX', BATCH_TTL_S).srem(this.openKey(), batchId).exec();
      } else {
        await this.redis.del(closedKey);
      }
    } else if (done) {
      if ((await this.redis.get(closedKey)) === '1') await this.redis.srem(this.openKey(), batchId);
      // Another process holds the claim: if it dies before sending, the claim expires and this one sends.
      else again = true;
    }
    if (again) this.retryLater(batchId);
    else this.failures.delete(batchId);
  }

  private key(batchId: string): string {
    return `${this.keys}batch:${batchId}`;
  }

  /** Batches whose closing reply has not gone out yet. */
  private openKey(): string {
    return `${this.keys}batches:open`;
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
