import type { Reply, ReplyButton, ReplyLevel, ReplyTable } from '../reply.js';

// Reply → Block Kit. Limits from Slack's reference: 50 blocks per message, 3,000 characters per section
// text, 10 fields per section (2,000 each), 150 characters per header, 10 context elements, 25 buttons per
// actions block, 2,000 characters per button value.

export interface SlackMessage {
  /** Fallback for notifications and clients without blocks. */
  readonly text: string;
  readonly blocks: SlackBlock[];
}

export type SlackBlock = Record<string, unknown> & { type: string };

const SECTION_MAX = 3000;
const MAX_BLOCKS = 50;
const ICON: Record<ReplyLevel, string> = {
  info: '',
  ok: ':white_check_mark: ',
  warn: ':warning: ',
  error: ':x: ',
};

/** Slack reads `<…>` as links and mentions (`<!channel>`); `&`, `<`, `>` must be escaped in any text. */
export function escapeMrkdwn(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Prose may mention a user (`<@U0123ABCD>`, e.g. the submitter on an escalation) so that Slack notifies
 * them; every other `<…>` (`<!channel>`, links) stays escaped. Code blocks use escapeMrkdwn alone.
 */
export function escapeProse(s: string): string {
  return escapeMrkdwn(s).replace(/&lt;@([UW][A-Z0-9]{2,})&gt;/g, '<@$1>');
}

const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const plain = (text: string, max = 3000) => ({ type: 'plain_text', text: cut(text, max), emoji: true });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text: cut(text, SECTION_MAX) });
const codeBlock = (s: string) => `\`\`\`${s.replaceAll('```', "'''")}\`\`\``;

export function renderBlocks(reply: Reply): SlackMessage {
  const blocks: SlackBlock[] = [];
  const icon = ICON[reply.level ?? 'info'];
  if (reply.title)
    blocks.push({ type: 'header', text: plain(`${icon ? `${icon.trim()} ` : ''}${reply.title}`, 150) });
  if (reply.text) {
    const lead = reply.title ? '' : icon;
    for (const chunk of chunks(`${lead}${escapeProse(reply.text)}`, SECTION_MAX)) {
      blocks.push({ type: 'section', text: mrkdwn(chunk) });
    }
  }
  if (reply.fields && reply.fields.length > 0) {
    for (let i = 0; i < reply.fields.length; i += 10) {
      blocks.push({
        type: 'section',
        fields: reply.fields.slice(i, i + 10).map((f) => ({
          type: 'mrkdwn',
          text: cut(`*${escapeMrkdwn(f.label)}*\n${escapeProse(f.value) || ' '}`, 2000),
        })),
      });
    }
  }
  if (reply.table) blocks.push(...tableBlocks(reply.table));
  if (reply.code) {
    const code =
      reply.code.length > SECTION_MAX - 10 ? `…${reply.code.slice(-(SECTION_MAX - 11))}` : reply.code;
    blocks.push({ type: 'section', text: mrkdwn(codeBlock(escapeMrkdwn(code))) });
  }
  if (reply.chart) {
    blocks.push({ type: 'section', text: mrkdwn(escapeMrkdwn(chartSummary(reply))) });
  }
  if (reply.buttons && reply.buttons.length > 0) {
    blocks.push({ type: 'actions', elements: reply.buttons.slice(0, 25).map(button) });
  }
  if (reply.context && reply.context.length > 0) {
    blocks.push({
      type: 'context',
      elements: reply.context.slice(0, 10).map((c) => ({ type: 'mrkdwn', text: cut(escapeProse(c), 2000) })),
    });
  }
  if (blocks.length > MAX_BLOCKS) {
    const kept = blocks.slice(0, MAX_BLOCKS - 1);
    kept.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '_(message shortened: too long for Slack)_' }],
    });
    return { text: fallbackText(reply), blocks: kept };
  }
  return { text: fallbackText(reply), blocks };
}

function fallbackText(reply: Reply): string {
  const icon = ICON[reply.level ?? 'info'];
  const parts = [reply.title, reply.text].filter((x): x is string => !!x);
  return cut(`${icon}${escapeMrkdwn(parts.join(': ') || 'Done.')}`, 3000);
}

function button(b: ReplyButton): Record<string, unknown> {
  return {
    type: 'button',
    action_id: b.actionId,
    text: plain(b.label, 75),
    value: cut(b.value, 2000),
    ...(b.style ? { style: b.style } : {}),
    ...(b.confirm
      ? {
          confirm: {
            title: plain(b.confirm.title, 100),
            text: plain(b.confirm.text, 300),
            confirm: plain(b.confirm.confirm, 30),
            deny: plain(b.confirm.deny, 30),
            ...(b.style === 'danger' ? { style: 'danger' } : {}),
          },
        }
      : {}),
  };
}

/** Columns padded into a monospace block; split across sections when it grows past Slack's limit. */
export function tableBlocks(table: ReplyTable): SlackBlock[] {
  const lines = formatTable(table);
  const [head, rule, ...body] = lines;
  const blocks: SlackBlock[] = [];
  let current: string[] = [head as string, rule as string];
  const size = (ls: string[]) => ls.reduce((n, l) => n + l.length + 1, 8);
  for (const line of body) {
    if (size([...current, line]) > SECTION_MAX) {
      blocks.push({ type: 'section', text: mrkdwn(codeBlock(escapeMrkdwn(current.join('\n')))) });
      current = [];
      if (blocks.length >= 20) {
        const rest = body.length - body.indexOf(line);
        blocks.push({
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `… ${rest} more rows not shown` }],
        });
        return blocks;
      }
    }
    current.push(line);
  }
  if (current.length > 0)
    blocks.push({ type: 'section', text: mrkdwn(codeBlock(escapeMrkdwn(current.join('\n')))) });
  return blocks;
}

/** Shared with the CLI's text renderer so both show the same table. */
export function formatTable(table: ReplyTable): string[] {
  const cell = (s: string) => cut(s.replace(/\s+/g, ' '), 100);
  const rows = table.rows.map((r) => table.columns.map((_, i) => cell(r[i] ?? '')));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(table.columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function chunks(s: string, max: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > max) {
    const at = rest.lastIndexOf('\n', max);
    const cutAt = at > max / 2 ? at : max;
    out.push(rest.slice(0, cutAt));
    rest = rest.slice(cutAt).replace(/^\n/, '');
  }
  if (rest) out.push(rest);
  return out;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** A one-line text picture of each series: the fallback when no image is attached. */
export function sparkline(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return values
    .map((v) => (Number.isFinite(v) ? SPARK[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * 7)] : ' '))
    .join('');
}

export function chartSummary(reply: Reply): string {
  const chart = reply.chart;
  if (!chart) return '';
  const unit = chart.yLabel ? ` ${chart.yLabel}` : '';
  const lines = chart.series.map((s) => {
    const ys = s.points.map((p) => p[1]);
    const last = ys.at(-1);
    if (last === undefined) return `${s.name}:`;
    // One bar per series: its value says it all, and a one-character sparkline would say nothing.
    if (chart.kind === 'bar' && ys.length === 1) return `${s.name}: ${formatNum(last)}${unit}`;
    return `${s.name}: ${sparkline(ys.slice(-60))} (last ${formatNum(last)}${unit})`;
  });
  return [`${chart.title}`, ...lines].join('\n');
}

function formatNum(n: number): string {
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? String(Math.round(n * 100) / 100) : n.toPrecision(4);
}
