import { appendFile, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { DispatchDeps, Invoker } from '../../commands/core/dispatch.js';
import { dispatchLine } from '../../commands/core/dispatch.js';
import { type CliOutput, printReply } from './cli.js';

export interface ConsoleOptions {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  readonly io: CliOutput;
  /** Where interactive history is kept (`~/.chatops_history`); none when absent. */
  readonly historyFile?: string;
}

const BANNER = `chatops console — the same commands as Slack: "/train list", "ckpt list", "help"; "exit" to leave.
Add --json to a line for the machine-readable answer.
`;

/**
 * The REPL. On a terminal: prompt, line editing and history. Piped (`echo '/train list' | chatops console`):
 * runs each line in order, echoing it, and exits 1 if any command failed.
 */
export async function runConsole(deps: DispatchDeps, inv: Invoker, opts: ConsoleOptions): Promise<number> {
  const interactive = opts.input.isTTY === true;
  const history = interactive && opts.historyFile ? await loadHistory(opts.historyFile) : [];
  const rl = createInterface({
    input: opts.input,
    ...(interactive ? { output: opts.output, terminal: true, history, historySize: 1000 } : {}),
  });
  if (interactive) {
    opts.io.out(BANNER);
    rl.setPrompt('chatops> ');
    rl.prompt();
  }
  let failed = false;
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      if (interactive) rl.prompt();
      continue;
    }
    if (line === 'exit' || line === 'quit') break;
    if (!interactive) opts.io.out(`> ${line}\n`);
    else if (opts.historyFile) await appendFile(opts.historyFile, `${line}\n`).catch(() => {});
    const json = /(^|\s)--json$/.test(line);
    const reply = await dispatchLine(deps, inv, json ? line.replace(/\s*--json$/, '') : line);
    printReply(reply, json, opts.io);
    if (reply.level === 'error') failed = true;
    if (interactive) rl.prompt();
    else opts.io.out('\n');
  }
  rl.close();
  return !interactive && failed ? 1 : 0;
}

async function loadHistory(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  // readline wants the most recent first.
  return text.split('\n').filter(Boolean).slice(-1000).reverse();
}
