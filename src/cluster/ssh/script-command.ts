import { quoteArg, quoteTrusted } from '../quote.js';
import type { RemoteScript } from '../remote-script.js';

/**
 * The remote command line for a script: its helper programs as `env NAME=BODY`, then `sh -c BODY NAME
 * OPERANDS…` or `perl -e BODY -- OPERANDS…`. Bodies are trusted files, quoted whole; operands are
 * validated and quoted like any argv.
 */
export function scriptCommand(script: RemoteScript, operands: readonly string[]): string {
  const env = Object.entries(script.env ?? {}).map(([k, v]) => quoteTrusted(`${k}=${v}`));
  const run =
    script.interpreter === 'sh'
      ? ['sh', '-c', quoteTrusted(script.body), quoteArg(script.name), ...operands.map(quoteArg)]
      : ['perl', '-e', quoteTrusted(script.body), '--', ...operands.map(quoteArg)];
  return [...(env.length > 0 ? ['env', ...env] : []), ...run].join(' ');
}
