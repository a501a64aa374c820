import type { Reply } from './reply.js';

/** Where a message goes: a channel, optionally a thread under an earlier message. */
export interface MessageTarget {
  readonly channel: string;
  readonly threadTs?: string;
}

/** A message that was posted: where, and its timestamp (Slack's message id). */
export interface PostedMessage {
  readonly channel: string;
  readonly ts: string;
}

/**
 * Posts replies outside the request/response cycle (training updates, upload progress, digests). Slack:
 * paced per channel; the console prints them. Built by the composition root before any feature starts.
 */
export interface Messenger {
  post(target: MessageTarget, reply: Reply): Promise<PostedMessage>;
  update?(target: PostedMessage, reply: Reply): Promise<void>;
}
