import type { WebClient } from '@slack/web-api';
import type { ChartRenderer } from '../charts/chart-png.js';
import type { Logger } from '../logger.js';
import type { MessageTarget, Messenger } from '../messenger.js';
import type { Reply, ReplyChart } from '../reply.js';
import type { ChannelPacer } from './channel-pacer.js';
import { renderBlocks } from './render-blocks.js';

/** Out-of-band messages (threads, digests), paced per channel. */
export class SlackMessenger implements Messenger {
  constructor(
    private readonly client: WebClient,
    private readonly pacer: ChannelPacer,
    private readonly log: Logger,
    /** Absent → charts stay as the text sparkline inside the message. */
    private readonly charts?: ChartRenderer,
  ) {}

  /** Send what is still queued (bounded by the pacer), then refuse new messages. */
  close(): Promise<void> {
    return this.pacer.close();
  }

  async post(target: MessageTarget, reply: Reply): Promise<{ channel: string; ts: string }> {
    const msg = renderBlocks(reply);
    const res = await this.pacer.enqueue(target.channel, () =>
      this.client.chat.postMessage({
        channel: target.channel,
        text: msg.text,
        blocks: msg.blocks as never,
        ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
        unfurl_links: false,
      }),
    );
    const ts = res.ts ?? '';
    if (reply.chart)
      await this.uploadChart({ channel: target.channel, threadTs: target.threadTs ?? ts }, reply.chart);
    return { channel: res.channel ?? target.channel, ts };
  }

  async update(target: { channel: string; ts: string }, reply: Reply): Promise<void> {
    const msg = renderBlocks(reply);
    await this.pacer.enqueue(target.channel, () =>
      this.client.chat.update({
        channel: target.channel,
        ts: target.ts,
        text: msg.text,
        blocks: msg.blocks as never,
      }),
    );
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
