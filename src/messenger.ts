import type { Reply } from './reply.js';

/** Where a message goes: a channel, optionally a thread under an earlier message. */
export interface MessageTarget {
  readonly channel: string;
  readonly threadTs?: string;
  /**
   * A user to tell in a direct message when the channel refuses the bot for good (not a member, archived):
   * usually whoever started the work. Without one, the messenger's fallback channel (the digest's) is used.
   */
  readonly notify?: string;
  /**
   * A key naming this one message (`watch:<job>:<n>`): posting it again — a retry after the process died
   * between Slack's answer and the caller's record of it — does not post it twice. Where the messenger has
   * nowhere to remember (the console), it is ignored.
   */
  readonly once?: string;
}

/** A message that was posted: where, and its timestamp (Slack's message id). */
export interface PostedMessage {
  readonly channel: string;
  readonly ts: string;
}

/** Whether the bot can post in a channel, and if not, why (Slack's error name). */
export type Reachability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Posts replies outside the request/response cycle (training updates, upload progress, digests). Slack:
 * paced per channel, edits within one workspace-wide budget; the console prints them. Built by the
 * composition root before any feature starts.
 */
export interface Messenger {
  /**
   * Post; when the channel refuses the bot for good the message goes to the fallback (`notify`'s DM, else
   * the digest channel) and the returned channel says where it went. Throws UndeliverableError when no
   * place takes it: the caller must not retry that one.
   */
  post(target: MessageTarget, reply: Reply): Promise<PostedMessage>;
  update?(target: PostedMessage, reply: Reply): Promise<void>;
  /**
   * Before starting background work for a channel: can the bot post there (joining a public channel if it
   * must)? Absent: it always can (the console).
   */
  reach?(channel: string): Promise<Reachability>;
}

/** A message no place would take (the channel refused for good, and so did every fallback): never retry. */
export class UndeliverableError extends Error {
  override readonly name = 'UndeliverableError';
  constructor(
    message: string,
    /** Slack's error name, e.g. `channel_not_found`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** What a command answers when the bot cannot post where background work would report. */
export function cannotPostHere(reason: string): string {
  const why =
    reason === 'is_archived'
      ? 'this channel is archived'
      : 'I am not a member of this channel (a private channel or a DM I was not invited to)';
  return `I cannot post updates here: ${why}. Invite @chatops to this channel (\`/invite @chatops\`), or run the command in a channel I am in. Nothing was started.`;
}
