import type { MessageTarget, Messenger } from '../../src/messenger.js';
import type { Reply } from '../../src/reply.js';

export interface Post {
  readonly target: MessageTarget;
  readonly reply: Reply;
  readonly ts: string;
}

/** Keeps what would be posted, in order — the console's Messenger does the same but prints. */
export class CollectingMessenger implements Messenger {
  readonly posts: Post[] = [];
  private n = 0;
  async post(target: MessageTarget, reply: Reply) {
    this.n += 1;
    const ts = `1700000000.${String(this.n).padStart(6, '0')}`;
    this.posts.push({ target, reply, ts });
    return { channel: target.channel, ts };
  }
  events(jobId: string): string[] {
    return this.forJob(jobId).map((p) => (p.reply.data as { event: string }).event);
  }
  forJob(jobId: string): Post[] {
    return this.posts.filter((p) => (p.reply.data as { jobId?: string } | undefined)?.jobId === jobId);
  }
}
