import type { DispatchDeps, Invoker } from '../../commands/core/dispatch.js';
import { dispatchAction, dispatchLine } from '../../commands/core/dispatch.js';
import { errorReply, type Reply, type ReplyButton, type ReplyConfirm } from '../reply.js';
import { type CliOutput, printReply } from './cli.js';
import { type ConsoleSurface, renderForConsole } from './render-console.js';

/** Waits for the console's background work; says what it waits for. True = settled, false = it did not. */
export type WaitForWork = (say: (line: string) => void) => Promise<boolean>;

/** What one line of the console needs: the commands, where to print, and how to read an answer. */
export interface ConsoleLineContext extends ConsoleSurface {
  readonly deps: DispatchDeps;
  readonly inv: Invoker;
  readonly io: CliOutput;
  /** Ask a y/N question and read the next input line; undefined when the input has ended. */
  readonly ask: (question: string) => Promise<string | undefined>;
  readonly waitForWork?: WaitForWork;
}

export const MAX_SLEEP_SECONDS = 600;

export const CONSOLE_HELP = `In this console:
  press N  (or click N)   press button N: every button is shown with its number, [N]
  wait                    wait until the background work (a watch, an upload) settles
  sleep <seconds>         pause up to ${MAX_SLEEP_SECONDS} s, e.g. to let a watch report in a piped session
  exit                    leave (also quit, or Ctrl-D)
Add --json to a line for the machine-readable answer.
`;

const PRESS_USAGE = 'press <number>';
const SLEEP_USAGE = `sleep <seconds>  (more than 0, at most ${MAX_SLEEP_SECONDS})`;
const HELP_LINES = new Set(['help', '/help', '--help', '-h']);

/**
 * One console line (not blank, not a comment, not exit): a command, `press N`, `wait` or `sleep S`.
 * Prints the answer; returns false when the line failed (the piped console then exits 1).
 */
export async function runConsoleLine(line: string, ctx: ConsoleLineContext): Promise<boolean> {
  const json = /(^|\s)--json$/.test(line);
  const bare = json ? line.replace(/\s*--json$/, '') : line;
  const [word = '', ...rest] = bare.split(/\s+/);
  switch (word.toLowerCase()) {
    case 'press':
    case 'click':
      return press(rest, ctx, json);
    case 'wait':
      return wait(rest, ctx);
    case 'sleep':
      return sleep(rest, ctx);
  }
  const reply = await dispatchLine(ctx.deps, ctx.inv, bare);
  const ok = await answer(reply, ctx, json);
  if (HELP_LINES.has(bare) && !json) ctx.io.out(`\n${CONSOLE_HELP}`);
  return ok;
}

async function press(words: readonly string[], ctx: ConsoleLineContext, json: boolean): Promise<boolean> {
  const [arg, extra] = words;
  if (arg === undefined || extra !== undefined || !/^\d+$/.test(arg)) {
    const msg = `press: give the number shown next to a button, e.g. press 1. ${ctx.buttons.describe()}`;
    return answer(errorReply(msg, PRESS_USAGE), ctx, json);
  }
  const n = Number(arg);
  const button = ctx.buttons.get(n);
  if (!button)
    return answer(errorReply(`There is no button ${n}. ${ctx.buttons.describe()}`, PRESS_USAGE), ctx, json);
  return pressButton(button, ctx, json);
}

/** As a click in Slack: its confirm dialog first (if any), then the action, whose answer is printed. */
async function pressButton(button: ReplyButton, ctx: ConsoleLineContext, json: boolean): Promise<boolean> {
  if (button.confirm && !(await confirmed(button.confirm, ctx))) return true;
  const reply = await dispatchAction(ctx.deps, ctx.inv, button.actionId, button.value);
  return answer(reply, ctx, json);
}

async function confirmed(c: ReplyConfirm, ctx: ConsoleLineContext): Promise<boolean> {
  const said = await ctx.ask(`${c.title}: ${c.text}  [y/N]`);
  const yes = /^(y|yes)$/i.test((said ?? '').trim());
  if (!yes) ctx.io.out(`${c.deny} — nothing was done.\n`);
  return yes;
}

/**
 * Print an answer to the user's line. A lone button with a confirm dialog (`/train cancel`'s "Cancel job N")
 * is what the answer asks, so the console asks it at once rather than waiting for `press`.
 */
async function answer(reply: Reply, ctx: ConsoleLineContext, json: boolean): Promise<boolean> {
  const ok = reply.level !== 'error';
  if (json) {
    printReply(reply, true, ctx.io);
    return ok;
  }
  const shown = await renderForConsole(reply, ctx);
  (ok ? ctx.io.out : ctx.io.err)(shown.text);
  const [only, ...others] = shown.buttons;
  if (only?.button.confirm && others.length === 0) return (await pressButton(only.button, ctx, false)) && ok;
  return ok;
}

async function wait(words: readonly string[], ctx: ConsoleLineContext): Promise<boolean> {
  if (words.length > 0) return answer(errorReply('wait takes no arguments.', 'wait'), ctx, false);
  if (!ctx.waitForWork) {
    const msg =
      'wait: no background work runs in this console (nothing to wait for; sleep <seconds> pauses).';
    return answer(errorReply(msg), ctx, false);
  }
  let settled: boolean;
  try {
    settled = await ctx.waitForWork((l) => ctx.io.out(`${l}\n`));
  } catch (e) {
    return answer(errorReply(`wait: ${e instanceof Error ? e.message : String(e)}`), ctx, false);
  }
  if (!settled) return answer(errorReply('wait: the background work did not settle.'), ctx, false);
  return true;
}

async function sleep(words: readonly string[], ctx: ConsoleLineContext): Promise<boolean> {
  const [arg, extra] = words;
  const s = arg !== undefined && extra === undefined && /^\d+(\.\d+)?$/.test(arg) ? Number(arg) : Number.NaN;
  if (!(s > 0 && s <= MAX_SLEEP_SECONDS)) {
    const msg = `sleep: give a number of seconds above 0 and at most ${MAX_SLEEP_SECONDS}, e.g. sleep 5.`;
    return answer(errorReply(msg, SLEEP_USAGE), ctx, false);
  }
  await new Promise((resolve) => setTimeout(resolve, s * 1000));
  return true;
}
