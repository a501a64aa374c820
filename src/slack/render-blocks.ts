import type { Reply, ReplyButton, ReplyFile, ReplyLevel, ReplyTable } from '../reply.js';
import { blockTextLength, LIMITS, TOTAL_BLOCK_TEXT_BUDGET } from './slack-limits.js';

// Reply → Block Kit, sized once, after escaping, against every per-block limit and the total of all blocks'
// text (src/slack/slack-limits.ts, docs/domain.md#block-kit-limits). What does not fit is never dropped
// silently: the message says what is missing, and the whole of it (the table as CSV, the text or log as a
// file) is returned in `files` for the messenger to attach in the message's thread.

export interface SlackMessage {
  /** Fallback for notifications and clients without blocks. */
  readonly text: string;
  readonly blocks: SlackBlock[];
  /** The reply's own files plus the whole of anything the blocks only summarise. */
  readonly files: ReplyFile[];
}

export interface RenderOptions {
  /**
   * Whether the caller can attach `files` (a new message can, in its thread; an edit cannot): the notes then
   * say "attached" or "not shown".
   */
  readonly attach?: boolean;
  /** Text budget for all blocks together (tests lower it). */
  readonly budget?: number;
}

export type SlackBlock = Record<string, unknown> & { type: string };

const ICON: Record<ReplyLevel, string> = {
  info: '',
  ok: ':white_check_mark: ',
  warn: ':warning: ',
  error: ':x: ',
};
/** Widest table line in the message; wider columns are shortened (the CSV has them whole). */
const TABLE_WIDTH = 150;
const MIN_COLUMN = 12;
const FENCE = 6;

/** Slack reads `<…>` as links and mentions (`<!channel>`); `&`, `<`, `>` must be escaped in any text. */
export function escapeMrkdwn(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Prose may mention a user (`<@U0123ABCD>`, e.g. the submitter on an escalation) so that Slack notifies
 * them, or link a channel (`<#C0123ABCD>`, which notifies nobody); every other `<…>` (`<!channel>`, links)
 * stays escaped. Code blocks use escapeMrkdwn alone.
 */
export function escapeProse(s: string): string {
  return escapeMrkdwn(s)
    .replace(/&lt;@([UW][A-Z0-9]{2,})&gt;/g, '<@$1>')
    .replace(/&lt;#([CGD][A-Z0-9]{2,})&gt;/g, '<#$1>');
}

/** Cut already-escaped text to `max` without splitting an entity (`&amp;`) or a mention. */
function safeHead(s: string, max: number): string {
  if (s.length <= max) return s;
  return s.slice(0, max).replace(/&[a-z]{0,3}$|<@?[A-Z0-9]*$/, '');
}
function safeTail(s: string, max: number): string {
  if (s.length <= max) return s;
  return s.slice(-max).replace(/^[a-z]{0,3};|^[A-Z0-9]*>/, '');
}

/** Keep the start and the end: a count at the end of a title, "This cannot be undone." after a path. */
export function cutMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const head = Math.ceil((max - 1) * 0.55);
  return `${safeHead(s, head)}…${safeTail(s, max - 1 - head)}`;
}

const cutEnd = (s: string, max: number) => (s.length <= max ? s : `${safeHead(s, max - 1)}…`);
const plain = (text: string, max: number, keepEnd = false) => ({
  type: 'plain_text',
  text: keepEnd ? cutMiddle(text, max) : cutEnd(text, max),
  emoji: true,
});
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const codeBlock = (escaped: string) => `\`\`\`${escaped}\`\`\``;
const noBackticks = (s: string) => s.replaceAll('```', "'''");
const section = (text: string): SlackBlock => ({ type: 'section', text: mrkdwn(text) });

/** A file name from a title: `Training jobs` → `training-jobs.csv`. */
export function fileSlug(title: string | undefined, ext: string, fallback = 'reply'): string {
  const base = (title ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${base || fallback}.${ext}`;
}

export function renderBlocks(reply: Reply, opts: RenderOptions = {}): SlackMessage {
  const attach = opts.attach ?? true;
  const budget = opts.budget ?? TOTAL_BLOCK_TEXT_BUDGET;
  const icon = ICON[reply.level ?? 'info'];
  const notes: string[] = [];
  const files: ReplyFile[] = [...(reply.files ?? [])];
  const whereWhole = (what: string) => (attach ? `${what} attached` : `${what} not shown here`);

  const header: SlackBlock[] = reply.title
    ? [
        {
          type: 'header',
          text: plain(`${icon ? `${icon.trim()} ` : ''}${reply.title}`, LIMITS.headerText, true),
        },
      ]
    : [];
  const fields = fieldBlocks(reply);
  const chart = reply.chart ? [section(safeHead(escapeMrkdwn(chartText(reply)), LIMITS.sectionText))] : [];
  const actions = actionBlocks(reply.buttons ?? [], notes);

  const codeFull = reply.code ? escapeMrkdwn(noBackticks(reply.code)) : '';
  let code: SlackBlock[] = [];
  if (reply.code) {
    const room = LIMITS.sectionText - FENCE - 2;
    if (codeFull.length <= room) code = [section(codeBlock(codeFull))];
    else {
      const kept = keepLastLines(codeFull, room);
      code = [section(codeBlock(`…\n${kept.text}`))];
      const name = fileSlug(reply.title, 'txt', 'log');
      notes.push(
        `Showing the last ${kept.lines === 1 ? 'line' : `${kept.lines} lines`}: ${whereWhole(`the whole text (\`${name}\`)`)}.`,
      );
      files.push({ filename: name, title: reply.title ?? 'Full text', content: reply.code });
    }
  }

  const fixed =
    blockTextLength([...header, ...fields, ...chart, ...actions, ...code]) +
    (reply.context ?? []).reduce((n, c) => n + Math.min(c.length * 1.2, LIMITS.contextText), 0) +
    400; // the notes below
  let room = Math.max(budget - fixed, 500);
  let blocksLeft =
    LIMITS.blocks - header.length - fields.length - chart.length - actions.length - code.length - 1;

  // Prose first, but a table keeps at least 40% of the room.
  const textChunks = reply.text
    ? chunks(`${reply.title ? '' : icon}${escapeProse(reply.text)}`, LIMITS.sectionText)
    : [];
  const tableLines = reply.table ? tableLayout(reply.table) : null;
  const tableWant = tableLines ? tableLines.lines.reduce((n, l) => n + escapeMrkdwn(l).length + 1, 0) : 0;
  const textRoom = tableLines ? Math.max(room - tableWant, Math.floor(room * 0.6)) : room;
  const text: SlackBlock[] = [];
  let textUsed = 0;
  for (const c of textChunks) {
    if (textUsed + c.length > textRoom || blocksLeft <= (tableLines ? 2 : 0)) {
      const name = fileSlug(reply.title, 'txt', 'message');
      notes.push(`The text continues: ${whereWhole(`all of it (\`${name}\`)`)}.`);
      files.push({ filename: name, title: reply.title ?? 'Full text', content: reply.text ?? '' });
      break;
    }
    text.push(section(c));
    textUsed += c.length;
    blocksLeft--;
  }
  room -= textUsed;

  const table: SlackBlock[] = [];
  if (reply.table && tableLines) {
    const { blocks, shown } = tableBlocksWithin(tableLines.lines, room, blocksLeft);
    table.push(...blocks);
    const total = reply.table.rows.length;
    const missing = total - shown;
    if (missing > 0 || tableLines.shortened) {
      const name = fileSlug(reply.title, 'csv', 'table');
      if (missing > 0) notes.push(`… and ${missing} more rows: ${whereWhole(`full table (\`${name}\`)`)}.`);
      else notes.push(`Long cells are shortened: ${whereWhole(`full table (\`${name}\`)`)}.`);
      files.push({ filename: name, title: `${reply.title ?? 'Table'} (CSV)`, content: toCsv(reply.table) });
    }
  }

  const context = contextBlock([...(reply.context ?? []).map(escapeProse), ...notes]);
  const blocks = [...header, ...text, ...fields, ...table, ...code, ...chart, ...actions, ...context];
  return { text: fallbackText(reply), blocks, files: attach ? files : [...(reply.files ?? [])] };
}

function fieldBlocks(reply: Reply): SlackBlock[] {
  const out: SlackBlock[] = [];
  const fields = reply.fields ?? [];
  for (let i = 0; i < fields.length; i += LIMITS.fields) {
    out.push({
      type: 'section',
      fields: fields.slice(i, i + LIMITS.fields).map((f) => ({
        type: 'mrkdwn',
        text: cutMiddle(`*${escapeMrkdwn(f.label)}*\n${escapeProse(f.value) || ' '}`, LIMITS.fieldText),
      })),
    });
  }
  return out;
}

/** At most ten context elements: the extra notes join the last one. */
function contextBlock(items: readonly string[]): SlackBlock[] {
  if (items.length === 0) return [];
  const els =
    items.length <= LIMITS.contextElements
      ? items
      : [...items.slice(0, LIMITS.contextElements - 1), items.slice(LIMITS.contextElements - 1).join('  ')];
  return [
    {
      type: 'context',
      elements: els.map((t) => ({ type: 'mrkdwn', text: cutMiddle(t, LIMITS.contextText) })),
    },
  ];
}

function fallbackText(reply: Reply): string {
  const icon = ICON[reply.level ?? 'info'];
  const parts = [reply.title, reply.text].filter((x): x is string => !!x);
  return cutEnd(`${icon}${escapeMrkdwn(parts.join(': ') || 'Done.')}`, LIMITS.fallbackText);
}

/**
 * Buttons in actions blocks of at most 25. Slack wants each `action_id` once per message, so a repeated id
 * gets a `~2`, `~3` suffix (the action listener strips it). A value is never cut — a cut payload would do
 * the wrong thing — so a button whose value is still too long here is left out and the message says so
 * (the messenger stores long values server-side before rendering: slack-messenger.ts).
 */
function actionBlocks(buttons: readonly ReplyButton[], notes: string[]): SlackBlock[] {
  const seen = new Map<string, number>();
  const els: Record<string, unknown>[] = [];
  for (const b of buttons) {
    if (b.value.length > LIMITS.buttonValue) {
      notes.push(`The “${escapeMrkdwn(b.label)}” button is left out: its request is too long for Slack.`);
      continue;
    }
    const n = (seen.get(b.actionId) ?? 0) + 1;
    seen.set(b.actionId, n);
    els.push(button(b, n === 1 ? b.actionId : `${b.actionId}${ACTION_SUFFIX}${n}`));
  }
  const out: SlackBlock[] = [];
  for (let i = 0; i < els.length; i += LIMITS.actionsElements)
    out.push({ type: 'actions', elements: els.slice(i, i + LIMITS.actionsElements) });
  return out;
}

/** Separates a repeated action id from its ordinal (`train.resubmit~2`). */
export const ACTION_SUFFIX = '~';

function button(b: ReplyButton, actionId: string): Record<string, unknown> {
  return {
    type: 'button',
    action_id: actionId.slice(0, LIMITS.actionId),
    text: plain(b.label, LIMITS.buttonText),
    value: b.value,
    ...(b.style ? { style: b.style } : {}),
    ...(b.confirm
      ? {
          confirm: {
            title: plain(b.confirm.title, LIMITS.confirmTitle),
            text: plain(b.confirm.text, LIMITS.confirmText, true),
            confirm: plain(b.confirm.confirm, LIMITS.confirmButton),
            deny: plain(b.confirm.deny, LIMITS.confirmButton),
            ...(b.style === 'danger' ? { style: 'danger' } : {}),
          },
        }
      : {}),
  };
}

/** The last whole lines of escaped text that fit in `max` characters. */
function keepLastLines(s: string, max: number): { text: string; lines: number } {
  const lines = s.split('\n');
  const kept: string[] = [];
  let n = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i] as string;
    if (n + l.length + 1 > max) {
      if (kept.length === 0) kept.unshift(safeTail(l, max));
      break;
    }
    kept.unshift(l);
    n += l.length + 1;
  }
  return { text: kept.join('\n'), lines: kept.length };
}

/** Column widths from the content; too wide a table shortens its widest columns (middle cut). */
function tableLayout(table: ReplyTable): { lines: string[]; shortened: boolean } {
  const clean = (s: string) => s.replace(/\s+/g, ' ');
  const rows = table.rows.map((r) => table.columns.map((_, i) => clean(r[i] ?? '')));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] as string).length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > TABLE_WIDTH) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] as number) <= MIN_COLUMN) break;
    widths[widest] = Math.max(MIN_COLUMN, (widths[widest] as number) - (total() - TABLE_WIDTH));
  }
  let shortened = false;
  const fitCells = (cells: readonly string[]) =>
    cells.map((c, i) => {
      const w = widths[i] as number;
      if (c.length <= w) return c;
      shortened = true;
      return cutMiddle(c, w);
    });
  const line = (cells: readonly string[]) =>
    fitCells(cells)
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const lines = [line(table.columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  return { lines, shortened };
}

/** Table lines in code-block sections within `room` characters and `maxBlocks` blocks; rows shown. */
function tableBlocksWithin(
  lines: readonly string[],
  room: number,
  maxBlocks: number,
): { blocks: SlackBlock[]; shown: number } {
  const [head, rule, ...body] = lines.map((l) => escapeMrkdwn(noBackticks(l)));
  const blocks: SlackBlock[] = [];
  let current: string[] = [head as string, rule as string];
  let size = FENCE + current.join('\n').length;
  let used = 0;
  let shown = 0;
  for (const l of body) {
    const add = l.length + 1;
    if (size + add > LIMITS.sectionText) {
      if (blocks.length + 1 >= maxBlocks) break;
      blocks.push(section(codeBlock(current.join('\n'))));
      used += size;
      current = [];
      size = FENCE - 1;
    }
    if (used + size + add > room) break;
    current.push(l);
    size += add;
    shown++;
  }
  if (current.length > 0 && maxBlocks > blocks.length) blocks.push(section(codeBlock(current.join('\n'))));
  return { blocks, shown };
}

/** Shared with the CLI's text renderer so both show the same table (whole cells: a terminal wraps). */
export function formatTable(table: ReplyTable): string[] {
  const rows = table.rows.map((r) => table.columns.map((_, i) => (r[i] ?? '').replace(/\s+/g, ' ')));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(table.columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** RFC 4180 CSV: every cell quoted when it holds a comma, a quote or a line break. */
export function toCsv(table: ReplyTable): string {
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return `${[table.columns, ...table.rows].map((r) => table.columns.map((_, i) => cell(r[i] ?? '')).join(',')).join('\r\n')}\r\n`;
}

/** Escaped text in pieces of at most `max`, split at line ends where possible, never inside an entity. */
function chunks(s: string, max: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > max) {
    const at = rest.lastIndexOf('\n', max);
    let cutAt = at > max / 2 ? at : safeHead(rest, max).length;
    if (cutAt === 0) cutAt = max;
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

/** The chart's text summary for a message: as many series as fit in a fifth of the budget, then a count. */
function chartText(reply: Reply): string {
  const [title, ...lines] = chartSummary(reply).split('\n');
  const kept: string[] = [title ?? ''];
  let n = kept[0]?.length ?? 0;
  for (const [i, l] of lines.entries()) {
    if (n + l.length + 1 > 1800) {
      kept.push(`… and ${lines.length - i} more in the chart`);
      break;
    }
    kept.push(l);
    n += l.length + 1;
  }
  return kept.join('\n');
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
