// How much of a log a message shows: the last whole lines whose code block fits one Slack section — 3,000
// characters of mrkdwn counted after `&`, `<`, `>` are escaped, fences included (docs/domain.md, "Block Kit
// limits") — so no surface ever cuts it and its closing fence stays. The rest goes in an attached file.

/** One section's 3,000 characters, less the two fences and a margin for the surface's own marks. */
export const CODE_BUDGET = 2_900;

/** Characters a text takes in a Slack message once escaped (`&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`). */
export function escapedLength(s: string): number {
  let n = s.length;
  for (const ch of s) {
    if (ch === '&') n += 4;
    else if (ch === '<' || ch === '>') n += 3;
  }
  return n;
}

export interface CodeTail {
  readonly text: string;
  /** Whole lines in `text` (the last ones of the log). */
  readonly lines: number;
  /** No whole line fitted: `text` is the end of the last line, after an ellipsis. */
  readonly partial: boolean;
}

/** The last lines of `lines` that fit `budget` escaped characters (newlines between them counted). */
export function codeTail(lines: readonly string[], budget = CODE_BUDGET): CodeTail {
  let used = 0;
  let k = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const cost = escapedLength(lines[i] as string) + (k > 0 ? 1 : 0);
    if (used + cost > budget) break;
    used += cost;
    k += 1;
  }
  if (k > 0 || lines.length === 0)
    return { text: lines.slice(lines.length - k).join('\n'), lines: k, partial: false };
  // One line longer than a message: its end, cut where the escaped length fits.
  const last = [...(lines.at(-1) as string)];
  let end = '';
  let cost = 1;
  for (let i = last.length - 1; i >= 0; i--) {
    const c = escapedLength(last[i] as string);
    if (cost + c > budget) break;
    cost += c;
    end = last[i] + end;
  }
  return { text: `…${end}`, lines: 0, partial: true };
}
