import { UserError } from '../../src/errors.js';

export const MAX_COMMAND_CHARS = 4000;
export const MAX_WORDS = 64;

// Phones and some desktop clients turn typed quotes into typographic ones; treat them as the plain ones
// people meant.
const SMART_QUOTES: Readonly<Record<string, string>> = {
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u2018': "'",
  '\u2019': "'",
};

/**
 * Split command text into words with shell-like quoting, and nothing else a shell does: no variables, no
 * globbing, no command substitution. `'…'` is literal; `"…"` is literal except `\"` and `\\`; outside
 * quotes a backslash takes the next character literally. Newlines and control characters are refused.
 */
export function tokenize(input: string): string[] {
  if (input.length > MAX_COMMAND_CHARS) {
    throw new UserError(
      `That command is ${input.length} characters long; the limit is ${MAX_COMMAND_CHARS}.`,
    );
  }
  // Tabs are harmless whitespace from copy-paste; every other control character is refused outright.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const bad = /[\u0000-\u0008\u000a-\u001f\u007f]/.exec(input);
  if (bad) {
    const what = bad[0] === '\n' || bad[0] === '\r' ? 'a line break' : 'a control character';
    throw new UserError(`The command contains ${what}; write it on one line without control characters.`);
  }
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  let quoteStart = 0;
  const chars = Array.from(input, (c) => SMART_QUOTES[c] ?? c);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (chars[i + 1] === '"' || chars[i + 1] === '\\')) word += chars[++i];
      else word += c;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') {
      quote = c;
      quoteStart = i;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw new UserError('The command ends with a lone backslash.');
      word += next;
      i++;
    } else {
      word += c;
    }
  }
  if (quote) {
    throw new UserError(
      `Unbalanced quote: the ${quote === '"' ? 'double' : 'single'} quote at character ${quoteStart + 1} is never closed.`,
    );
  }
  if (inWord) words.push(word);
  if (words.length > MAX_WORDS) {
    throw new UserError(`That command has ${words.length} words; the limit is ${MAX_WORDS}.`);
  }
  return words;
}
