import { describe, expect, it } from 'vitest';
import { renderText } from '../../../src/cli/render-text.js';
import { errorReply } from '../../../src/reply.js';
import { renderBlocks, sparkline } from '../../../src/slack/render-blocks.js';
import { isFreshTimestamp } from '../../../src/slack/request-freshness.js';
import { blockTextLength, TOTAL_BLOCK_TEXT_BUDGET } from '../../../src/slack/slack-limits.js';

describe('Block Kit rendering', () => {
  it('renders every part of a Reply', () => {
    const m = renderBlocks({
      level: 'warn',
      title: 'Job 42',
      text: 'Loss is *rising*',
      fields: [
        { label: 'state', value: 'RUNNING' },
        { label: 'iteration', value: '50 / 143000' },
      ],
      table: { columns: ['a', 'bb'], rows: [['1', '2']] },
      code: 'Traceback (most recent call last):',
      buttons: [{ actionId: 'train.cancel', label: 'Cancel', value: '42', style: 'danger' }],
      context: ['Usage: /train status <jobid>'],
    });
    expect(m.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'section',
      'actions',
      'context',
    ]);
    expect(m.blocks[0]).toMatchObject({ text: { type: 'plain_text', text: ':warning: Job 42' } });
    expect(m.blocks[2]).toMatchObject({
      fields: [{ text: '*state*\nRUNNING' }, { text: '*iteration*\n50 / 143000' }],
    });
    expect(m.blocks[3]).toMatchObject({ text: { text: '```a  bb\n-  --\n1  2```' } });
    expect(m.text).toBe(':warning: Job 42: Loss is *rising*');
  });

  it('escapes text so user input cannot ping the channel or forge links', () => {
    const m = renderBlocks(
      errorReply('bad experiment "<!channel> <https://evil|click> & more"', '/ckpt status <experiment>'),
    );
    const all = JSON.stringify(m);
    expect(all).not.toContain('<!channel>');
    expect(all).toContain('&lt;!channel&gt; &lt;https://evil|click&gt; &amp; more');
    expect(all).toContain('Usage: /ckpt status &lt;experiment&gt;');
  });

  it('keeps user mentions live in prose (so an escalation pings the submitter) but not in code', () => {
    const m = renderBlocks({
      level: 'warn',
      text: '<@U0ALICE> CUDA out of memory <!here>',
      code: '<@U0BOB> in a log line',
    });
    const all = JSON.stringify(m.blocks);
    expect(all).toContain('<@U0ALICE> CUDA out of memory &lt;!here&gt;');
    expect(all).toContain('&lt;@U0BOB&gt; in a log line');
    expect(all).not.toContain('<!here>');
  });

  it('keeps within Slack limits for huge replies', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [`experiment-${i}`, String(i), 'x'.repeat(50)]);
    const m = renderBlocks({
      text: 'y'.repeat(10_000),
      table: { columns: ['e', 'n', 'pad'], rows },
      code: 'z'.repeat(9000),
    });
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    for (const b of m.blocks) {
      const t = (b as { text?: { text: string } }).text?.text ?? '';
      expect(t.length).toBeLessThanOrEqual(3000);
    }
    expect(blockTextLength(m.blocks)).toBeLessThanOrEqual(TOTAL_BLOCK_TEXT_BUDGET);
    const all = JSON.stringify(m.blocks);
    const shown = (all.match(/experiment-\d+/g) ?? []).length;
    expect(all).toContain(`… and ${2000 - shown} more rows: full table (\`table.csv\`) attached.`);
    expect(all).toContain('The text continues: all of it (`message.txt`) attached.');
    expect(m.files.map((f) => f.filename)).toEqual(['log.txt', 'message.txt', 'table.csv']);
    expect(m.files[2]?.content.split('\r\n')).toHaveLength(2002); // header, 2000 rows, final line end
    expect(m.files[1]?.content).toBe('y'.repeat(10_000));
    expect(m.text.length).toBeLessThanOrEqual(3000);
  });

  it('sizes after escaping: a traceback full of <module> keeps its closing fence and its last lines', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `  File "x.py", line ${i}, in <module> & more`);
    const m = renderBlocks({ title: 'Log', code: lines.join('\n') });
    const code = m.blocks.find((b) => JSON.stringify(b).includes('```')) as unknown as {
      text: { text: string };
    };
    expect(code.text.text.length).toBeLessThanOrEqual(3000);
    expect(code.text.text.endsWith('line 399, in &lt;module&gt; &amp; more```')).toBe(true);
    expect(code.text.text).not.toMatch(/&[a-z]{0,3}$|&l…|&am…/);
    expect(m.files[0]).toMatchObject({ filename: 'log.txt', content: lines.join('\n') });
    expect(JSON.stringify(m.blocks)).toMatch(
      /Showing the last \d+ lines: the whole text \(`log.txt`\) attached/,
    );
  });

  it('keeps the count of a long title, the end of a confirm text, and whole cells in the CSV', () => {
    const name = `pythia-${'very-long-experiment-name-'.repeat(8)}final`;
    const m = renderBlocks({
      title: `Uploads of ${name}: 12/300 uploaded`,
      table: { columns: ['experiment', 'n'], rows: [[`${name}-${'x'.repeat(200)}-v2`, '1']] },
      buttons: [
        {
          actionId: 'a.b',
          label: 'Cancel',
          value: '1',
          confirm: {
            title: 'Sure?',
            text: `Cancel ${'/a/long/path'.repeat(40)}? This cannot be undone.`,
            confirm: 'Yes',
            deny: 'No',
          },
        },
      ],
    });
    const header = (m.blocks[0] as unknown as { text: { text: string } }).text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header.endsWith(': 12/300 uploaded')).toBe(true);
    const confirm = JSON.stringify(m.blocks.find((b) => b.type === 'actions'));
    expect(confirm).toContain('This cannot be undone.');
    const table = JSON.stringify(m.blocks.find((b) => JSON.stringify(b).includes('```')));
    expect(table).toContain('-v2');
    expect(m.files[0]?.content).toContain(`${name}-${'x'.repeat(200)}-v2`);
    expect(JSON.stringify(m.blocks)).toContain('Long cells are shortened');
  });

  it('gives each action_id once per message and never cuts a button value', () => {
    const m = renderBlocks({
      buttons: [
        { actionId: 'train.resubmit', label: 'A', value: 'a' },
        { actionId: 'train.resubmit', label: 'B', value: 'b' },
        { actionId: 'train.big', label: 'Big', value: 'v'.repeat(2001) },
      ],
    });
    const els = (
      m.blocks.find((b) => b.type === 'actions') as unknown as { elements: { action_id: string }[] }
    ).elements;
    expect(els.map((e) => e.action_id)).toEqual(['train.resubmit', 'train.resubmit~2']);
    expect(JSON.stringify(m.blocks)).toContain('button is left out: its request is too long for Slack');
  });

  it('draws sparklines and shows them for charts in text and blocks', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([3, 3])).toBe('▄▄');
    const reply = {
      chart: {
        kind: 'line' as const,
        title: 'loss',
        series: [
          {
            name: 'lm',
            points: [
              [1, 3],
              [2, 2],
              [3, 1],
            ] as [number, number][],
          },
        ],
      },
    };
    expect(renderText(reply)).toContain('lm: █▅▁ (last 1)');
    expect(JSON.stringify(renderBlocks(reply))).toContain('lm: █▅▁ (last 1)');
    // One bar per series (success % per experiment): the value with its unit, not a lone sparkline glyph.
    const bars = {
      chart: {
        kind: 'bar' as const,
        title: 'Upload success rate per experiment',
        yLabel: 'success %',
        series: [
          { name: 'exp-a', points: [[0, 50]] as [number, number][] },
          { name: 'exp-b', points: [[1, 100]] as [number, number][] },
        ],
      },
    };
    expect(renderText(bars)).toContain('exp-a: 50 success %\nexp-b: 100 success %');
  });
});

describe('request timestamps', () => {
  const now = 1_800_000_000_000;
  it('accepts five minutes either side and nothing beyond', () => {
    const s = Math.floor(now / 1000);
    expect(isFreshTimestamp(String(s), now)).toBe(true);
    expect(isFreshTimestamp(String(s - 300), now)).toBe(true);
    expect(isFreshTimestamp(String(s + 300), now)).toBe(true);
    expect(isFreshTimestamp(String(s - 301), now)).toBe(false);
    expect(isFreshTimestamp(String(s + 301), now)).toBe(false);
    for (const bad of [undefined, '', 'abc', '1e9', '-5', `${s}.5`, ' 1800000000']) {
      expect(isFreshTimestamp(bad, now)).toBe(false);
    }
  });
});
