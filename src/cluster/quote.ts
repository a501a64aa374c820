import { UserError } from '../errors.js';

// Anything below 0x20 (newline, CR, tab, NUL, ESC …) and DEL can change how a remote shell or a log reader
// sees a line; no legitimate argument to the cluster needs one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function assertNoControlChars(value: string, what = 'argument'): void {
  if (CONTROL.test(value)) {
    throw new UserError(`${what} contains a newline or control character, which is never allowed`);
  }
}

/** POSIX single-quote one word: inside '…' nothing is special except ' itself. */
export function quoteArg(arg: string): string {
  assertNoControlChars(arg);
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The one function that turns argv into the single string SSH exec hands to the remote shell.
 * Every element becomes exactly one word; nothing is expanded.
 */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('quoteArgv: empty argv');
  return argv.map(quoteArg).join(' ');
}

/**
 * Single-quote a trusted program body (a file of src/cluster/remote/) for the remote shell. Newlines and
 * tabs are kept: inside '…' they are literal. NUL cannot travel in a command line at all.
 */
export function quoteTrusted(body: string): string {
  if (body.includes('\u0000')) throw new Error('quoteTrusted: a program body cannot contain NUL');
  return `'${body.replaceAll("'", `'\\''`)}'`;
}
