import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../commands/core/parse-args.js';
import { MAX_COMMAND_CHARS, tokenize } from '../../../commands/core/tokenize.js';
import { UserError } from '../../../src/errors.js';

describe('tokenize', () => {
  it('splits on spaces and tabs, keeping quoted words whole', () => {
    expect(tokenize('  status  "my exp"\t\'a b\' c\\ d ')).toEqual(['status', 'my exp', 'a b', 'c d']);
  });
  it('keeps shell metacharacters as inert text', () => {
    expect(tokenize('x; rm -rf / $(id) `id` | cat > /etc/passwd && $HOME *')).toEqual([
      'x;',
      'rm',
      '-rf',
      '/',
      '$(id)',
      '`id`',
      '|',
      'cat',
      '>',
      '/etc/passwd',
      '&&',
      '$HOME',
      '*',
    ]);
  });
  it('handles escapes inside double quotes and literal single quotes', () => {
    expect(tokenize('"a \\"b\\" \\\\ \\n" \'x\\y\'')).toEqual(['a "b" \\ \\n', 'x\\y']);
    expect(tokenize('""')).toEqual(['']);
    expect(tokenize('a"b c"d')).toEqual(['ab cd']);
  });
  it('treats typographic quotes like plain ones', () => {
    expect(tokenize('status \u201cmy exp\u201d \u2018x y\u2019')).toEqual(['status', 'my exp', 'x y']);
  });
  it('refuses unbalanced quotes and says where', () => {
    expect(() => tokenize('status "abc')).toThrow(/double quote at character 8 is never closed/);
    expect(() => tokenize("status 'abc")).toThrow(/single quote/);
    expect(() => tokenize('abc\\')).toThrow(/lone backslash/);
  });
  it('refuses newlines and control characters', () => {
    expect(() => tokenize('list\nrm -rf /')).toThrow(/line break/);
    expect(() => tokenize('list\r')).toThrow(/line break/);
    expect(() => tokenize('list \u0000')).toThrow(/control character/);
    expect(() => tokenize('list \u001b[31m')).toThrow(/control character/);
  });
  it('caps the length', () => {
    expect(() => tokenize('a'.repeat(MAX_COMMAND_CHARS + 1))).toThrow(UserError);
    expect(() => tokenize('a'.repeat(10_000))).toThrow(/limit is 4000/);
    expect(() => tokenize('a '.repeat(100))).toThrow(/100 words/);
  });
  it('passes unicode through untouched', () => {
    expect(tokenize('status 実験-α 🚀')).toEqual(['status', '実験-α', '🚀']);
  });
});

describe('parseArgs', () => {
  const spec = {
    positionals: ['experiment', 'org'],
    flags: { skipEval: 'boolean', step: 'string' },
  } as const;
  it('maps positionals and flags', () => {
    expect(parseArgs(['exp', '--skip-eval', '--step', '10', 'org'], spec, 'u')).toEqual({
      experiment: 'exp',
      org: 'org',
      skipEval: true,
      step: '10',
    });
    expect(parseArgs(['--step=5', 'exp'], spec, 'u')).toEqual({ experiment: 'exp', step: '5' });
  });
  it('refuses unknown, repeated and malformed options with the usage line', () => {
    const err = (w: string[]) => {
      try {
        parseArgs(w, spec, '/ckpt upload <experiment>');
      } catch (e) {
        return e as UserError;
      }
      throw new Error('no error');
    };
    expect(err(['--force']).message).toMatch(/Unknown option --force: its options are --skip-eval, --step/);
    expect(err(['--force']).usage).toBe('/ckpt upload <experiment>');
    expect(err(['-f']).message).toMatch(/Unknown option -f/);
    expect(err(['--step']).message).toMatch(/needs a value/);
    expect(err(['--skip-eval=yes']).message).toMatch(/takes no value/);
    expect(err(['--step', '1', '--step', '2']).message).toMatch(/given twice/);
    expect(err(['a', 'b', 'c']).message).toMatch(/Too many arguments: "c" is extra/);
  });
  it('treats words after -- as positionals and collects rest...', () => {
    expect(parseArgs(['--', '--x'], { positionals: ['a'] }, 'u')).toEqual({ a: '--x' });
    expect(parseArgs(['a', 'b', 'c'], { positionals: ['first', 'rest...'] }, 'u')).toEqual({
      first: 'a',
      rest: ['b', 'c'],
    });
  });
});
