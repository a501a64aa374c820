import { describe, expect, it } from 'vitest';
import { CODE_BUDGET, codeTail, escapedLength } from '../../../commands/train/log-excerpt.js';
import { renderBlocks } from '../../../src/slack/render-blocks.js';

// How much of a log `/train logs` puts in its message: whole last lines, sized as Slack counts them (after
// escaping), so the code block is never cut and keeps its closing fence.

const traceback = [
  'Traceback (most recent call last):',
  '  File "/home/a5k/neox/train.py", line 34, in <module>',
  '    main()',
  '  File "/home/a5k/neox/megatron/utils.py", line 88, in reduce_losses',
  '    return torch.stack([x["lm_loss"] for x in losses]) if a > b && c < d else None',
  "KeyError: 'lm_loss'",
];

describe('the log excerpt of a message', () => {
  it('counts &, <, > as Slack does once escaped', () => {
    expect(escapedLength('in <module>')).toBe('in &lt;module&gt;'.length);
    expect(escapedLength('a && b')).toBe('a &amp;&amp; b'.length);
  });

  it('takes as many whole last lines as fit after escaping, and the block keeps its closing fence', () => {
    // Many lines heavy in `<` and `>`: sized before escaping they would overflow the section.
    const lines = Array.from({ length: 400 }, (_, i) => `${i} ${'<>'.repeat(20)} ${traceback[i % 6]}`);
    const t = codeTail(lines);
    expect(t.partial).toBe(false);
    expect(t.text.split('\n')).toEqual(lines.slice(-t.lines));
    expect(escapedLength(t.text)).toBeLessThanOrEqual(CODE_BUDGET);
    expect(escapedLength(lines.slice(-(t.lines + 1)).join('\n'))).toBeGreaterThan(CODE_BUDGET);
    const code = renderBlocks({ code: t.text }).blocks.at(-1) as unknown as { text: { text: string } };
    expect(code.text.text.startsWith('```')).toBe(true);
    expect(code.text.text.endsWith('```')).toBe(true);
    expect(code.text.text).toContain('&lt;&gt;');
    expect(code.text.text).toContain(lines.at(-1)?.replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
  });

  it('shows the end of a single line longer than a message, after an ellipsis', () => {
    const huge = `start ${'y'.repeat(10_000)} end`;
    const t = codeTail(['short', huge]);
    expect(t).toMatchObject({ lines: 0, partial: true });
    expect(t.text.startsWith('…')).toBe(true);
    expect(t.text.endsWith('y end')).toBe(true);
    expect(escapedLength(t.text)).toBeLessThanOrEqual(CODE_BUDGET);
  });

  it('an empty log gives an empty excerpt', () => {
    expect(codeTail([])).toEqual({ text: '', lines: 0, partial: false });
  });
});
