import type { MessageTarget, Messenger, PostedMessage } from '../messenger.js';
import type { Reply } from '../reply.js';
import { ConsoleButtons } from './console-buttons.js';
import { ConsoleCharts } from './console-charts.js';
import { ConsoleFiles } from './console-files.js';
import { type ConsoleSurface, renderForConsole } from './render-console.js';

/**
 * Out-of-band messages in a terminal: printed where the answers go, headed by where Slack would show them.
 * Give it the console's buttons and charts, so `press N` works for a watch's button too.
 */
export class ConsoleMessenger implements Messenger {
  #n = 0;
  readonly #surface: ConsoleSurface;

  constructor(
    private readonly write: (s: string) => void,
    surface: Partial<ConsoleSurface> = {},
  ) {
    this.#surface = {
      buttons: surface.buttons ?? new ConsoleButtons(),
      charts: surface.charts ?? new ConsoleCharts(),
      files: surface.files ?? new ConsoleFiles(),
    };
  }

  async post(target: MessageTarget, reply: Reply): Promise<PostedMessage> {
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.#n).padStart(6, '0')}`;
    const where = target.threadTs
      ? `in ${channel(target.channel)}, thread ${target.threadTs}`
      : `in ${channel(target.channel)}, message ${ts}`;
    await this.#print(where, reply);
    return { channel: target.channel, ts };
  }

  async update(target: PostedMessage, reply: Reply): Promise<void> {
    await this.#print(`edit of message ${target.ts} in ${channel(target.channel)}`, reply);
  }

  async #print(where: string, reply: Reply): Promise<void> {
    const { text } = await renderForConsole(reply, this.#surface);
    // One write per message, so messages from concurrent work never interleave line by line; the blank
    // line after it keeps it apart from whatever the console prints next.
    this.write(`── ${where} ──\n${text}\n`);
  }
}

const channel = (c: string) => (c.startsWith('#') ? c : `#${c}`);
