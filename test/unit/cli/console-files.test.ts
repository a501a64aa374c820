import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConsoleButtons } from '../../../src/cli/console-buttons.js';
import { ConsoleCharts } from '../../../src/cli/console-charts.js';
import { ConsoleFiles } from '../../../src/cli/console-files.js';
import { ConsoleMessenger } from '../../../src/cli/console-messenger.js';
import { renderForConsole } from '../../../src/cli/render-console.js';
import { renderText } from '../../../src/cli/render-text.js';
import type { Reply } from '../../../src/reply.js';

// What Slack attaches to a message, a terminal shows too: the console writes it to a file and prints the
// path; the one-shot CLI prints it whole.

const content = `${Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
const reply: Reply = {
  title: 'Job 7: last 500 lines',
  text: 'Last 2 of 500 lines shown; all 500 attached.',
  code: 'line 499\nline 500',
  files: [
    { filename: '../../etc/neox-training-7-last-500-lines.log', title: 'Job 7: last 500 lines', content },
  ],
};

describe('attached files on a terminal', () => {
  it('the console writes each file into its directory and prints the path', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'console-files-')), 'files');
    const files = new ConsoleFiles({ dir });
    const { text } = await renderForConsole(reply, {
      buttons: new ConsoleButtons(),
      charts: new ConsoleCharts(),
      files,
    });
    const path = /^ {2}file: (\S+) \(Job 7: last 500 lines\)$/m.exec(text)?.[1];
    // The name's directory part is dropped: the file stays in the console's directory.
    expect(path).toBe(join(dir, '1-neox-training-7-last-500-lines.log'));
    expect(await readFile(path as string, 'utf8')).toBe(content);
    expect(text).not.toContain('line 250');
  });

  it("the console's messenger does the same for a background message", async () => {
    let out = '';
    const m = new ConsoleMessenger((s) => {
      out += s;
    });
    await m.post({ channel: 'C1' }, reply);
    const path = /^ {2}file: (\S+) /m.exec(out)?.[1];
    expect(path).toMatch(new RegExp(`^${join(tmpdir(), 'chatops-files-')}`));
    expect(await readFile(path as string, 'utf8')).toBe(content);
  });

  it('the one-shot CLI prints the file whole after the message', () => {
    const text = renderText(reply);
    expect(text).toContain('── ../../etc/neox-training-7-last-500-lines.log (Job 7: last 500 lines) ──');
    expect(text).toContain('\nline 1\n');
    expect(text.trimEnd().endsWith('line 500')).toBe(true);
  });
});
