import { spawn } from 'node:child_process';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';
import { parseStatReply } from '../../../src/cluster/ssh/stat-agent.js';

/** Run remote/stat-agent.pl here, as the SSH transport starts it (`perl -e BODY --`), feeding `input`. */
function runAgent(input: string): Promise<{ stdout: string; code: number | null }> {
  const agent = loadRemoteScript('stat-agent.pl');
  return new Promise((resolve, reject) => {
    const child = spawn('perl', ['-e', agent.body, '--'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('latin1');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, code }));
    child.stdin.end(input);
  });
}

describe('stat-agent.pl', () => {
  it('answers each request with one line per path and a closing ".", and exits 0 when stdin closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stat-agent-'));
    const file = join(dir, 'a file.log');
    await writeFile(file, 'x'.repeat(4321));
    const { stdout, code } = await runAgent(
      `${file}\n${join(dir, 'missing')}\n${join(file, 'under-a-file')}\n\n${dir}\n\n`,
    );
    expect(code).toBe(0);
    const [first, second, rest] = stdout.split('.\n');
    expect(rest).toBe('');
    const answer = parseStatReply(first ?? '', 3);
    expect(answer?.[0]?.size).toBe(4321);
    // Sub-second mtimes: Time::HiRes gives what the file system holds, to the microsecond at least.
    expect(Math.abs((answer?.[0]?.mtime ?? 0) - (await stat(file)).mtimeMs / 1000)).toBeLessThan(2e-6);
    // Missing, and "not a directory" on the way there: both mean the path does not exist.
    expect(answer?.slice(1)).toEqual([null, null]);
    expect(parseStatReply(second ?? '', 1)?.[0]?.mtime).toBeCloseTo((await stat(dir)).mtimeMs / 1000, 3);
  });

  it('reads replies that do not fit the request as no answer', () => {
    expect(parseStatReply('12 1.5\n', 2)).toBeNull();
    expect(parseStatReply('?\n', 1)).toBeNull();
    expect(parseStatReply('', 0)).toEqual([]);
    expect(parseStatReply('12 1.5\n-\n', 2)).toEqual([{ size: 12, mtime: 1.5 }, null]);
  });
});
