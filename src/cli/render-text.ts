import type { Reply } from '../reply.js';
import { chartSummary, formatTable } from '../slack/render-blocks.js';

const MARK: Record<string, string> = { ok: '✔ ', warn: '⚠ ', error: '✖ ', info: '' };

/** Reply → plain text for a terminal: same content as the Slack message, no markup. */
export function renderText(reply: Reply): string {
  const out: string[] = [];
  const mark = MARK[reply.level ?? 'info'] ?? '';
  if (reply.title) out.push(`${mark}${reply.title}`, '');
  if (reply.text) out.push(`${reply.title ? '' : mark}${reply.text}`);
  if (reply.fields && reply.fields.length > 0) {
    const w = Math.max(...reply.fields.map((f) => f.label.length));
    out.push('', ...reply.fields.map((f) => `${`${f.label}:`.padEnd(w + 1)} ${f.value}`));
  }
  if (reply.table) out.push('', ...formatTable(reply.table));
  if (reply.code) out.push('', ...reply.code.split('\n').map((l) => `    ${l}`));
  if (reply.chart) out.push('', chartSummary(reply));
  if (reply.buttons && reply.buttons.length > 0) {
    out.push('', ...reply.buttons.map((b) => `[${b.label}]  (a Slack button; ${b.actionId} ${b.value})`));
  }
  if (reply.context && reply.context.length > 0) out.push('', ...reply.context);
  while (out.at(-1) === '') out.pop();
  while (out[0] === '') out.shift();
  // Slack mentions (`<@U0123ABCD>`) read as `@U0123ABCD` in a terminal.
  return `${out.join('\n').replace(/<@([UW][A-Z0-9]{2,})>/g, '@$1')}\n`;
}
