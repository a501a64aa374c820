import { randomUUID } from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { ChartRenderer } from '../charts/chart-png.js';
import type { Logger } from '../logger.js';
import {
  type MessageTarget,
  type Messenger,
  type PostedMessage,
  type Reachability,
  UndeliverableError,
} from '../messenger.js';
import type { Reply, ReplyChart, ReplyFile } from '../reply.js';
import * as z from '../zod.js';
import { type ChannelPacer, retryAfterSeconds } from './channel-pacer.js';
import { CHAT_UPDATE_PER_MINUTE, LocalRateBudget, type RateBudget, RedisRateBudget } from './rate-budget.js';
import { renderBlocks, type SlackMessage } from './render-blocks.js';
import { CHANNEL_ERRORS, isPermanentSlackError, slackErrorCode } from './slack-errors.js';
import { LIMITS } from './slack-limits.js';

export interface SlackMessengerOptions {
  /** The process's Redis: the workspace-wide chat.update budget and long button payloads live there. */
  readonly redis?: Redis;
  /** Prefix of this messenger's Redis keys. */
  readonly keyPrefix?: string;
  /** Where a message goes when its channel refuses the bot and no user can be told (DIGEST_CHANNEL). */
  readonly fallbackChannel?: string;
  /** Overrides the chat.update budget (tests). */
  readonly updateBudget?: RateBudget;
}

/** A button value too long for Slack is kept server-side; the button carries this prefix and its key. */
export const PAYLOAD_REF = 'ref:';
const PAYLOAD_TTL_S = 7 * 24 * 3600;

interface PendingEdit {
  msg: SlackMessage;
  readonly waiters: { resolve(): void; reject(e: unknown): void }[];
}

/** How long a `once` message's record lives: longer than any watch or upload runs between posts. */
const POSTED_TTL_S = 7 * 86_400;
const PostedRecord = z.object({
  channel: z.string(),
  ts: z.string(),
  thread: z.string(),
  extras: z.boolean(),
});
const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
};

/**
 * Out-of-band messages (threads, digests): posts paced per channel, edits within one workspace-wide budget
 * (the latest content of a message wins while it waits), files in the message's thread. A channel that
 * refuses the bot for good is never retried in a loop: the message goes to the fallback, the refusal is
 * logged once per channel and counted.
 */
export class SlackMessenger implements Messenger {
  readonly stats = { posts: 0, updates: 0, coalesced: 0, files: 0, fallbacks: 0, undeliverable: 0 };
  readonly #edits = new Map<string, PendingEdit>();
  readonly #reachable = new Set<string>();
  readonly #logged = new Set<string>();
  readonly #payloads = new Map<string, string>();
  readonly #budget: RateBudget;
  readonly #opts: SlackMessengerOptions;

  constructor(
    private readonly client: WebClient,
    private readonly pacer: ChannelPacer,
    private readonly log: Logger,
    /** Absent → charts stay as the text sparkline inside the message. */
    private readonly charts?: ChartRenderer,
    opts: SlackMessengerOptions = {},
  ) {
    this.#opts = opts;
    this.#budget =
      opts.updateBudget ??
      (opts.redis
        ? new RedisRateBudget(
            opts.redis,
            `${opts.keyPrefix ?? 'chatops:slack:'}budget:chat.update`,
            CHAT_UPDATE_PER_MINUTE,
            60_000,
          )
        : new LocalRateBudget(CHAT_UPDATE_PER_MINUTE, 60_000));
  }

  /** Send what is still queued (bounded by the pacer), then refuse new messages. */
  close(): Promise<void> {
    return this.pacer.close();
  }

  async post(target: MessageTarget, reply: Reply): Promise<PostedMessage> {
    return this.#post(target, reply, true);
  }

  /** Post in `target` only, no fallback (a slash command's reply with attachments). */
  postHere(target: MessageTarget, reply: Reply): Promise<PostedMessage> {
    return this.#post(target, reply, false);
  }

  async #post(target: MessageTarget, reply: Reply, fallback: boolean): Promise<PostedMessage> {
    const prepared = await this.prepare(reply);
    const msg = renderBlocks(prepared);
    const once = await this.#postedBefore(target);
    if (once.done) {
      // Posted before a crash: what may not have followed (files, the chart) goes once more, into its thread.
      const { posted, thread, extras } = once.done;
      if (!extras) {
        await this.#attach({ channel: posted.channel, threadTs: thread }, msg.files);
        if (reply.chart) await this.uploadChart({ channel: posted.channel, threadTs: thread }, reply.chart);
        await once.remember(posted, thread, true);
      }
      return posted;
    }
    let posted: PostedMessage;
    try {
      posted = await this.#postMessage(target.channel, target.threadTs, msg);
    } catch (e) {
      const code = slackErrorCode(e);
      if (code === undefined || !isPermanentSlackError(e)) throw e;
      this.#refused(target.channel, code, e);
      if (!CHANNEL_ERRORS.has(code)) {
        // The message itself was refused: the same words without blocks still tell the story.
        posted = await this.#postMessage(target.channel, target.threadTs, { ...msg, blocks: [] }).catch(
          (e2: unknown) => {
            throw this.#undeliverable(target.channel, slackErrorCode(e2) ?? code);
          },
        );
      } else if (!fallback) {
        throw this.#undeliverable(target.channel, code);
      } else {
        posted = await this.#fallback(target, prepared, code);
      }
    }
    this.stats.posts++;
    const thread = posted.channel === target.channel ? (target.threadTs ?? posted.ts) : posted.ts;
    await once.remember(posted, thread, msg.files.length === 0 && !reply.chart);
    await this.#attach({ channel: posted.channel, threadTs: thread }, msg.files);
    if (reply.chart) await this.uploadChart({ channel: posted.channel, threadTs: thread }, reply.chart);
    if (msg.files.length > 0 || reply.chart) await once.remember(posted, thread, true);
    return posted;
  }

  /**
   * A message with `once`: whether it was posted already (kept in Redis for 7 days), and how to record
   * that it now is — right after Slack's answer, so a crash leaves a window of one Redis write, not of
   * the whole upload that follows.
   */
  async #postedBefore(target: MessageTarget): Promise<{
    done?: { posted: PostedMessage; thread: string; extras: boolean };
    remember(posted: PostedMessage, thread: string, extras: boolean): Promise<void>;
  }> {
    const redis = this.#opts.redis;
    if (!target.once || !redis) return { remember: async () => {} };
    const key = `${this.#opts.keyPrefix ?? 'chatops:slack:'}posted:${target.once}`;
    const remember = async (posted: PostedMessage, thread: string, extras: boolean) => {
      await redis
        .set(
          key,
          JSON.stringify({ channel: posted.channel, ts: posted.ts, thread, extras }),
          'EX',
          POSTED_TTL_S,
        )
        .catch((err: unknown) => this.log.warn({ err, key }, 'could not record a posted message'));
    };
    const seen = await redis.get(key).catch(() => null);
    const done = seen === null ? null : PostedRecord.safeParse(safeJson(seen));
    if (!done?.success) return { remember };
    const { channel, ts, thread, extras } = done.data;
    return { done: { posted: { channel, ts }, thread, extras }, remember };
  }

  /** One chat.postMessage; a public channel the bot has not joined is joined once, then tried again. */
  async #postMessage(
    channel: string,
    threadTs: string | undefined,
    msg: SlackMessage,
  ): Promise<PostedMessage> {
    const send = () =>
      this.pacer.enqueue(channel, () =>
        this.client.chat.postMessage({
          channel,
          text: msg.text,
          ...(msg.blocks.length > 0 ? { blocks: msg.blocks as never } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          unfurl_links: false,
        }),
      );
    let res: Awaited<ReturnType<typeof send>>;
    try {
      res = await send();
    } catch (e) {
      if (slackErrorCode(e) !== 'not_in_channel' || !(await this.#join(channel))) throw e;
      res = await send();
    }
    return { channel: res.channel ?? channel, ts: res.ts ?? '' };
  }

  async #join(channel: string): Promise<boolean> {
    try {
      await this.client.conversations.join({ channel });
      this.#reachable.add(channel);
      return true;
    } catch {
      return false;
    }
  }

  /** The submitter's DM, else the fallback channel, with a line saying why it is there. */
  async #fallback(target: MessageTarget, reply: Reply, code: string): Promise<PostedMessage> {
    const note = `I could not post this in <#${target.channel}> (${code}): invite @chatops there (\`/invite @chatops\`).`;
    const moved = renderBlocks({ ...reply, context: [note, ...(reply.context ?? [])] });
    const places: (() => Promise<string | undefined>)[] = [];
    if (target.notify) {
      const user = target.notify;
      places.push(async () => {
        const r = await this.client.conversations.open({ users: user });
        return r.channel?.id;
      });
    }
    const fb = this.#opts.fallbackChannel;
    if (fb && fb !== target.channel) places.push(async () => fb);
    for (const place of places) {
      try {
        const channel = await place();
        if (!channel) continue;
        const posted = await this.#postMessage(channel, undefined, moved);
        this.stats.fallbacks++;
        return posted;
      } catch (e) {
        this.#refused('(fallback)', slackErrorCode(e) ?? String(e), e);
      }
    }
    throw this.#undeliverable(target.channel, code);
  }

  #undeliverable(channel: string, code: string): UndeliverableError {
    this.stats.undeliverable++;
    return new UndeliverableError(`Slack refused the message for ${channel}: ${code}`, code);
  }

  /** Logged once per channel and error, however often it recurs; the count is in `stats`. */
  #refused(channel: string, code: string, err: unknown): void {
    const key = `${channel}|${code}`;
    if (this.#logged.has(key)) return;
    this.#logged.add(key);
    this.log.warn(
      { channel, error: code, err: String(err) },
      'Slack refused a message for good; not retrying it',
    );
  }

  async update(target: PostedMessage, reply: Reply): Promise<void> {
    const msg = renderBlocks(await this.prepare(reply), { attach: false });
    const key = `${target.channel}|${target.ts}`;
    const pending = this.#edits.get(key);
    if (pending) {
      // Not sent yet: only the latest content of a message is worth a call.
      pending.msg = msg;
      this.stats.coalesced++;
      return new Promise((resolve, reject) => pending.waiters.push({ resolve, reject }));
    }
    const entry: PendingEdit = { msg, waiters: [] };
    this.#edits.set(key, entry);
    return new Promise((resolve, reject) => {
      entry.waiters.push({ resolve, reject });
      void this.#sendEdit(key, target, entry);
    });
  }

  async #sendEdit(key: string, target: PostedMessage, entry: PendingEdit): Promise<void> {
    const settle = (e?: unknown) => {
      for (const w of entry.waiters) e === undefined ? w.resolve() : w.reject(e);
    };
    try {
      for (let attempt = 0; ; attempt++) {
        await this.#budget.acquire();
        if (this.#edits.get(key) === entry) this.#edits.delete(key);
        try {
          await this.client.chat.update({
            channel: target.channel,
            ts: target.ts,
            text: entry.msg.text,
            blocks: entry.msg.blocks as never,
          });
          this.stats.updates++;
          settle();
          return;
        } catch (e) {
          const after = retryAfterSeconds(e);
          if (after !== undefined && attempt < 5) {
            await this.#budget.pause(after * 1000);
            this.log.warn(
              { channel: target.channel, retryAfterS: after },
              'chat.update rate limited; all edits wait',
            );
            // A newer edit of this message is queued: it carries the latest content.
            if (this.#edits.has(key)) return settle();
            continue;
          }
          const code = slackErrorCode(e);
          if (code !== undefined && isPermanentSlackError(e)) {
            this.#refused(target.channel, code, e);
            return settle(this.#undeliverable(target.channel, code));
          }
          return settle(e);
        }
      }
    } catch (e) {
      settle(e);
    }
  }

  /** Can the bot post in `channel`? A public channel is joined; a private one answers whether we are in it. */
  async reach(channel: string): Promise<Reachability> {
    if (this.#reachable.has(channel)) return { ok: true };
    try {
      await this.client.conversations.join({ channel });
    } catch (e) {
      const code = slackErrorCode(e);
      // A private channel or DM the bot can see at all is one it is in (bots see only those).
      if (code === 'method_not_supported_for_channel_type') {
        this.#reachable.add(channel);
        return { ok: true };
      }
      if (code === 'channel_not_found' || code === 'is_archived' || code === 'not_in_channel')
        return { ok: false, reason: code };
      // Not known now (a missing scope, Slack unavailable): let the work start; posting falls back.
      this.#refused(channel, code ?? 'join failed', e);
      return { ok: true };
    }
    this.#reachable.add(channel);
    return { ok: true };
  }

  /** Long button values go to Redis (or memory) with a TTL; the button carries the key (never a cut value). */
  async prepare(reply: Reply): Promise<Reply> {
    if (!reply.buttons?.some((b) => b.value.length > LIMITS.buttonValue)) return reply;
    const buttons = await Promise.all(
      reply.buttons.map(async (b) => {
        if (b.value.length <= LIMITS.buttonValue) return b;
        const id = randomUUID();
        const redis = this.#opts.redis;
        if (redis) await redis.set(this.#payloadKey(id), b.value, 'EX', PAYLOAD_TTL_S);
        else this.#payloads.set(id, b.value);
        return { ...b, value: `${PAYLOAD_REF}${id}` };
      }),
    );
    return { ...reply, buttons };
  }

  /** A clicked button's value as the command gave it; null when its stored payload has expired. */
  async resolveValue(value: string): Promise<string | null> {
    if (!value.startsWith(PAYLOAD_REF)) return value;
    const id = value.slice(PAYLOAD_REF.length);
    const redis = this.#opts.redis;
    return redis ? await redis.get(this.#payloadKey(id)) : (this.#payloads.get(id) ?? null);
  }

  #payloadKey(id: string): string {
    return `${this.#opts.keyPrefix ?? 'chatops:slack:'}payload:${id}`;
  }

  /** Files in the message's thread (files.uploadV2); a failure is logged and counted, the message says what. */
  async #attach(target: { channel: string; threadTs: string }, files: readonly ReplyFile[]): Promise<void> {
    for (const f of files) {
      try {
        await this.pacer.enqueue(target.channel, () =>
          this.client.files.uploadV2({
            channel_id: target.channel,
            thread_ts: target.threadTs,
            file: Buffer.from(f.content, 'utf8'),
            filename: f.filename,
            title: f.title,
          }),
        );
        this.stats.files++;
      } catch (err) {
        this.log.warn({ err, channel: target.channel, file: f.filename }, 'could not attach a file');
      }
    }
  }

  /** Upload the chart as a PNG (files.uploadV2); a failure is logged, the message already carries a sparkline. */
  async uploadChart(target: MessageTarget, chart: ReplyChart): Promise<void> {
    if (!this.charts) return;
    try {
      const png = await this.charts.png(chart);
      const filename = `${chart.title.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 60) || 'chart'}.png`;
      const file = { file: Buffer.from(png), filename, title: chart.title, alt_text: chart.title };
      await this.pacer.enqueue(target.channel, () =>
        target.threadTs
          ? this.client.files.uploadV2({ channel_id: target.channel, thread_ts: target.threadTs, ...file })
          : this.client.files.uploadV2({ channel_id: target.channel, ...file }),
      );
    } catch (err) {
      this.log.warn({ err, channel: target.channel }, 'could not upload the chart image');
    }
  }
}
