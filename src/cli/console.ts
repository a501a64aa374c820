import { appendFile, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { DispatchDeps, Invoker } from '../../commands/core/dispatch.js';
import type { CliOutput } from './cli.js';
import { ConsoleButtons } from './console-buttons.js';
import { ConsoleCharts } from './console-charts.js';
import { ConsoleFiles } from './console-files.js';
import { runConsoleLine, type WaitForWork } from './console-line.js';

export type { WaitForWork } from './console-line.js';

export interface ConsoleOptions {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  readonly io: CliOutput;
  /** Where interactive history is kept (`~/.chatops_history`); none when absent. */
  readonly historyFile?: string;
  /** The session's button numbers; pass the ConsoleMessenger's, so its buttons can be pressed too. */
  readonly buttons?: ConsoleButtons;
  /** Where the session's charts are written; pass the ConsoleMessenger's. Default: a fresh temp dir. */
  readonly charts?: ConsoleCharts;
  /** Where attached files are written. Default: a fresh temp dir. */
  readonly files?: ConsoleFiles;
  /** Printed after the standard banner on a terminal (e.g. the demo's "things to try"). */
  readonly banner?: string;
  /** What the `wait` line runs; without it `wait` says there is nothing to wait for. */
  readonly waitForWork?: WaitForWork;
}

const PROMPT = 'chatops> ';

const BANNER = `chatops console — the same commands as Slack: "/train list", "ckpt list", "help"; "exit" to leave.
Buttons are numbered: "press N" presses button [N]. "wait" waits for background work; "sleep 5" pauses.
Add --json to a line for the machine-readable answer.
`;

/**
 * The REPL. On a terminal: prompt, line editing and history. Piped (`echo '/train list' | chatops console`):
 * runs each line in order, echoing it, and exits 1 if any line failed (the later lines still run). A confirm
 * question reads its answer from the next line, on a terminal and piped alike.
 */
export async function runConsole(deps: DispatchDeps, inv: Invoker, opts: ConsoleOptions): Promise<number> {
  const interactive = opts.input.isTTY === true;
  const history = interactive && opts.historyFile ? await loadHistory(opts.historyFile) : [];
  const rl = createInterface({
    input: opts.input,
    ...(interactive ? { output: opts.output, terminal: true, history, historySize: 1000 } : {}),
  });
  // A terminal in raw mode turns Ctrl-C into a keypress, not a signal: give it back as the signal, so
  // Ctrl-C stops the process (or the demo's handler stops its sandbox) even while a command runs.
  if (interactive) rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  // One reader for commands and confirm answers alike, so an answer is simply the next line.
  const lines = rl[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => {
    const r = await lines.next();
    return r.done ? undefined : String(r.value);
  };
  const ask = async (question: string): Promise<string | undefined> => {
    if (interactive) {
      rl.setPrompt(`${question} `);
      rl.prompt();
    } else opts.io.out(`${question}\n`);
    const said = await next();
    if (interactive) rl.setPrompt(PROMPT);
    else opts.io.out(said === undefined ? '> (end of input)\n' : `> ${said.trim()}\n`);
    return said;
  };
  const ctx = {
    deps,
    inv,
    io: opts.io,
    buttons: opts.buttons ?? new ConsoleButtons(),
    charts: opts.charts ?? new ConsoleCharts(),
    files: opts.files ?? new ConsoleFiles(),
    ask,
    ...(opts.waitForWork ? { waitForWork: opts.waitForWork } : {}),
  };

  if (interactive) {
    opts.io.out(BANNER);
    if (opts.banner) opts.io.out(opts.banner.endsWith('\n') ? opts.banner : `${opts.banner}\n`);
    rl.setPrompt(PROMPT);
    rl.prompt();
  }
  let failed = false;
  for (let raw = await next(); raw !== undefined; raw = await next()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      if (interactive) rl.prompt();
      continue;
    }
    if (line === 'exit' || line === 'quit') break;
    if (!interactive) opts.io.out(`> ${line}\n`);
    else if (opts.historyFile) await appendFile(opts.historyFile, `${line}\n`).catch(() => {});
    if (!(await runConsoleLine(line, ctx))) failed = true;
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
