import type { MessageTarget, Messenger } from '../messenger.js';
import type { Reply } from '../reply.js';
import { renderText } from './render-text.js';

/** Out-of-band messages in a terminal: printed where the answers go, marked with their destination. */
export class ConsoleMessenger implements Messenger {
  #n = 0;
  constructor(private readonly write: (s: string) => void) {}

  async post(target: MessageTarget, reply: Reply): Promise<{ channel: string; ts: string }> {
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.#n).padStart(6, '0')}`;
    const where = target.threadTs ? `${target.channel}, thread ${target.threadTs}` : target.channel;
    this.write(`── message to ${where} ──\n${renderText(reply)}`);
    return { channel: target.channel, ts };
  }

  async update(target: { channel: string; ts: string }, reply: Reply): Promise<void> {
    this.write(`── update of ${target.channel} ${target.ts} ──\n${renderText(reply)}`);
  }
}
