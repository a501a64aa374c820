import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { localDate, periodJobId } from '../src/cron.js';
import type { DigestSource } from '../src/digest/digest-source.js';
import type { Logger } from '../src/logger.js';
import type { Messenger } from '../src/messenger.js';
import type { QueueFactory, RunningWorker } from '../src/queue/queue-factory.js';

// The daily digest as a BullMQ job. One job per period (its id names the day), and the posting itself is
// guarded by two Redis markers so at-least-once delivery never becomes "posted twice":
//   posting:<period>  set (NX) right before the Slack call — a resumed attempt that finds it without
//                     `posted` cannot know whether Slack got the message, and chooses not to post again;
//   posted:<period>   set right after, with the message ts.
// A clean failure of the Slack call clears `posting`, so the retry may post.

export const DIGEST_QUEUE = 'digest';
export const DIGEST_JOB = 'post-digest';
const DAY_MS = 86_400_000;
const MARKER_TTL_S = 40 * 86_400;

export interface PostDigestData {
  readonly periodId: string;
  /** ISO times: the period is [since, until). */
  readonly since: string;
  readonly until: string;
}

export type PostDigestResult =
  | { readonly status: 'posted'; readonly channel: string; readonly ts: string }
  | { readonly status: 'already-posted'; readonly ts: string }
  | { readonly status: 'maybe-posted' };

export interface PostDigestDeps {
  readonly source: DigestSource;
  readonly messenger: Messenger;
  readonly channel: string;
  /** A plain client (`factory.redis()`), for the markers. */
  readonly redis: Redis;
  /** `factory.keyPrefix(DIGEST_QUEUE)`. */
  readonly keyPrefix: string;
  readonly log: Logger;
}

/** The period a tick at `firedAt` reports on: the 24 h ending at the tick's minute, named by its local day. */
export function digestPeriod(firedAt: Date, timezone: string): PostDigestData {
  const until = new Date(Math.floor(firedAt.getTime() / 60_000) * 60_000);
  return {
    periodId: periodJobId('digest', localDate(until, timezone)),
    since: new Date(until.getTime() - DAY_MS).toISOString(),
    until: until.toISOString(),
  };
}

/** What src/cron.ts calls on each DIGEST_CRON tick. A second add of the same id (another replica) is a no-op. */
export async function enqueueDigest(
  queue: Queue<PostDigestData>,
  firedAt: Date,
  timezone: string,
): Promise<string> {
  const data = digestPeriod(firedAt, timezone);
  await queue.add(DIGEST_JOB, data, {
    jobId: data.periodId,
    attempts: 5,
    backoff: { type: 'exponential', delay: 30_000 },
    // Kept for two weeks so a late tick of another replica still finds the id and adds nothing.
    removeOnComplete: { age: 14 * 86_400 },
    removeOnFail: { age: 14 * 86_400 },
  });
  return data.periodId;
}

export async function postDigest(data: PostDigestData, deps: PostDigestDeps): Promise<PostDigestResult> {
  const postedKey = `${deps.keyPrefix}posted:${data.periodId}`;
  const postingKey = `${deps.keyPrefix}posting:${data.periodId}`;
  const posted = await deps.redis.get(postedKey);
  if (posted !== null) return { status: 'already-posted', ts: posted };

  const period = { since: new Date(data.since), until: new Date(data.until) };
  const report = await deps.source.report(period, { trend: true });

  const claimed = await deps.redis.set(postingKey, new Date().toISOString(), 'EX', MARKER_TTL_S, 'NX');
  if (claimed !== 'OK') {
    deps.log.warn(
      { periodId: data.periodId },
      'digest: an earlier attempt died while posting; not posting again',
    );
    return { status: 'maybe-posted' };
  }
  let res: { channel: string; ts: string };
  try {
    res = await deps.messenger.post({ channel: deps.channel }, report.reply);
  } catch (err) {
    await deps.redis.del(postingKey);
    throw err;
  }
  await deps.redis.set(postedKey, res.ts, 'EX', MARKER_TTL_S);
  deps.log.info({ periodId: data.periodId, ts: res.ts, changed: report.sweep.changed }, 'digest posted');
  return { status: 'posted', channel: res.channel, ts: res.ts };
}

export function startDigestWorker(
  factory: QueueFactory,
  deps: Omit<PostDigestDeps, 'redis' | 'keyPrefix'>,
  settings: { lockDuration?: number; stalledInterval?: number } = {},
): RunningWorker<PostDigestData, PostDigestResult> {
  const full: PostDigestDeps = {
    ...deps,
    redis: factory.redis(),
    keyPrefix: factory.keyPrefix(DIGEST_QUEUE),
  };
  return factory.worker<PostDigestData, PostDigestResult>(
    DIGEST_QUEUE,
    (job: Job<PostDigestData, PostDigestResult>) => postDigest(job.data, full),
    { concurrency: 1, ...settings },
  );
}
