import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { assertNoControlChars, quoteArg, quoteArgv } from '../../../src/cluster/quote.js';
import { UserError } from '../../../src/errors.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'quote-test-'));
const canary = join(dir, 'canary');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hostile = [
  `; touch ${canary}`,
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `'; touch ${canary}; echo '`,
  `"; touch ${canary}; echo "`,
  `&& touch ${canary}`,
  `| touch ${canary}`,
  `> ${canary}`,
  `$HOME`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} is the hostile value
  '${IFS}',
  '--wrap=id',
  '-J',
  '*',
  '~root',
  'a b  c',
  "it's",
  "''",
  '\\',
  "\\'",
  '!',
  '#comment',
  '',
  ' ',
  'ünïcödé ✓',
  'x'.repeat(5000),
];

// Both shells a login node is likely to hand SSH exec: dash (sh) and bash.
const shells = ['/bin/sh', '/bin/bash'].filter((s) => existsSync(s));

describe('quoteArg / quoteArgv', () => {
  it('leaves plain words readable and quotes everything else', () => {
    expect(quoteArg('squeue')).toBe('squeue');
    expect(quoteArg('--format=%i|%T')).toBe(`'--format=%i|%T'`);
    expect(quoteArg('/a/b-c_d.e')).toBe('/a/b-c_d.e');
    expect(quoteArg('')).toBe(`''`);
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArgv(['scancel', '--', '123'])).toBe('scancel -- 123');
  });

  for (const shell of shells) {
    it(`round-trips every hostile value through ${shell} -c printf unchanged`, async () => {
      for (const v of hostile) {
        const { stdout } = await exec(shell, ['-c', `printf %s ${quoteArg(v)}`]);
        expect(stdout).toBe(v);
      }
      expect(existsSync(canary)).toBe(false);
    });

    it(`keeps a whole argv as exactly one word per element in ${shell}`, async () => {
      const { stdout } = await exec(shell, ['-c', quoteArgv(['printf', '[%s]\\n', ...hostile])]);
      expect(stdout).toBe(hostile.map((h) => `[${h}]\n`).join(''));
      expect(existsSync(canary)).toBe(false);
    });
  }

  it('round-trips random printable strings', async () => {
    // Deterministic pseudo-random so a failure can be reproduced.
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const words = Array.from({ length: 200 }, () =>
      Array.from({ length: 1 + Math.floor(rnd() * 12) }, () =>
        String.fromCharCode(32 + Math.floor(rnd() * 95)),
      ).join(''),
    );
    const { stdout } = await exec('/bin/sh', ['-c', quoteArgv(['printf', '%s\\n', ...words])]);
    expect(stdout).toBe(words.map((w) => `${w}\n`).join(''));
  });

  it('refuses newlines and control characters instead of quoting them', () => {
    for (const v of ['a\nb', 'a\rb', 'a\u0000b', 'tab\there', '\u001b[31mred', 'del\u007f']) {
      expect(() => quoteArg(v)).toThrow(UserError);
      expect(() => quoteArgv(['echo', v])).toThrow(/newline or control character/);
      expect(() => assertNoControlChars(v, 'job name')).toThrow(/^job name contains a newline/);
    }
    expect(() => assertNoControlChars('fine value')).not.toThrow();
  });

  it('refuses an empty argv', () => {
    expect(() => quoteArgv([])).toThrow(/empty argv/);
  });
});
