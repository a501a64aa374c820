import type { Reply } from '../reply.js';
import { chartSummary, formatTable } from '../slack/render-blocks.js';

const MARK: Record<string, string> = { ok: '✔ ', warn: '⚠ ', error: '✖ ', info: '' };

/** What a surface adds to the plain text: the console numbers its buttons and writes charts to files. */
export interface RenderTextExtras {
  /** One line per button, in order; by default each is named as a Slack button with its action. */
  readonly buttonLines?: readonly string[];
  /** Printed under the chart's text summary, e.g. where its PNG was written. */
  readonly chartLines?: readonly string[];
  /** One line per attached file, e.g. where it was written; by default each file is printed whole. */
  readonly fileLines?: readonly string[];
}

/** Reply → plain text for a terminal: same content as the Slack message, no markup. */
export function renderText(reply: Reply, extras: RenderTextExtras = {}): string {
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
  if (reply.chart) out.push('', chartSummary(reply), ...(extras.chartLines ?? []));
  if (reply.files && reply.files.length > 0) {
    out.push(
      '',
      ...(extras.fileLines ??
        reply.files.flatMap((f) => [
          `── ${f.filename} (${f.title}) ──`,
          ...f.content.replace(/\n$/, '').split('\n'),
        ])),
    );
  }
  if (reply.buttons && reply.buttons.length > 0) {
    out.push(
      '',
      ...(extras.buttonLines ??
        reply.buttons.map((b) => `[${b.label}]  (a Slack button; ${b.actionId} ${b.value})`)),
    );
  }
  if (reply.context && reply.context.length > 0) out.push('', ...reply.context);
  while (out.at(-1) === '') out.pop();
  while (out[0] === '') out.shift();
  // One blank line between parts, however many parts are absent in between.
  const lines = out.filter((l, i) => l !== '' || out[i - 1] !== '');
  // Slack mentions (`<@U0123ABCD>`, or `<@unix:name>` for a console user) read as `@…` in a terminal.
  return `${lines.join('\n').replace(/<@([UW][A-Z0-9]{2,}|unix:[a-z_][a-z0-9._-]*)>/g, '@$1')}\n`;
}
