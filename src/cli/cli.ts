import type { DispatchDeps, Invoker } from '../../commands/core/dispatch.js';
import { dispatchLine, dispatchWords } from '../../commands/core/dispatch.js';
import type { Reply } from '../reply.js';
import { renderText } from './render-text.js';

export interface CliOutput {
  out(s: string): void;
  err(s: string): void;
}

export const CLI_USAGE = `Usage:
  chatops <command> <subcommand> [args] [--json]   run one command (same as /<command> in Slack)
  chatops console                                  interactive console (reads stdin when piped)
  chatops help                                     every command
`;

/** Print a reply: `--json` prints `reply.data` on stdout; text goes to stdout, or stderr for errors. */
export function printReply(reply: Reply, json: boolean, io: CliOutput): void {
  if (json) {
    io.out(`${JSON.stringify(reply.data ?? null, null, 2)}\n`);
    return;
  }
  (reply.level === 'error' ? io.err : io.out)(renderText(reply));
}

/** Strip `--json` (anywhere, before a `--`), return the rest. */
export function takeJsonFlag(words: readonly string[]): { words: string[]; json: boolean } {
  const end = words.indexOf('--');
  const head = end === -1 ? [...words] : words.slice(0, end);
  const tail = end === -1 ? [] : words.slice(end);
  const json = head.includes('--json');
  return { words: [...head.filter((w) => w !== '--json'), ...tail], json };
}

/** One-shot: `chatops train list --json`. Returns the exit code (0 ok, 1 the command failed, 2 usage). */
export async function runOnce(
  deps: DispatchDeps,
  inv: Invoker,
  argv: readonly string[],
  io: CliOutput,
): Promise<number> {
  const { words, json } = takeJsonFlag(argv);
  const [command, ...rest] = words;
  if (command === undefined) {
    io.err(CLI_USAGE);
    return 2;
  }
  const reply =
    command === 'help' || command === '--help' || command === '-h'
      ? await dispatchLine(deps, inv, 'help')
      : await dispatchWords(deps, inv, command.replace(/^\//, ''), rest);
  if (command === 'help' && !json) io.out(`${CLI_USAGE.replace('Usage:', 'chatops:')}\n`);
  printReply(reply, json, io);
  return reply.level === 'error' ? 1 : 0;
}
