import type { ReplyButton } from '../reply.js';

/** A button as the console showed it: `press <n>` presses it. */
export interface NumberedButton {
  readonly n: number;
  readonly button: ReplyButton;
}

/**
 * Every button one console session has shown, numbered in order. The console and its messenger share one,
 * so an answer's button and a training watch's button never get the same number; numbers are never reused,
 * so a number read higher up in the scrollback still means that button.
 */
export class ConsoleButtons {
  readonly #shown = new Map<number, ReplyButton>();
  #last = 0;

  /** Number a button that is about to be shown. */
  add(button: ReplyButton): NumberedButton {
    this.#last += 1;
    this.#shown.set(this.#last, button);
    return { n: this.#last, button };
  }

  get(n: number): ReplyButton | undefined {
    return this.#shown.get(n);
  }

  /** The numbers `press` accepts, in order. */
  get numbers(): number[] {
    return [...this.#shown.keys()];
  }

  /** How a numbered button reads in the console. */
  static line({ n, button }: NumberedButton): string {
    return `  [${n}] ${button.label}   (type: press ${n})`;
  }

  /** The valid numbers in a sentence, for an error: "Buttons shown so far: 1–3." */
  describe(): string {
    const ns = this.numbers;
    if (ns.length === 0) return 'No button has been shown in this console yet.';
    return `Buttons shown so far: ${ranges(ns)}.`;
  }
}

/** 1,2,3,5 → "1–3, 5". */
function ranges(ns: readonly number[]): string {
  const out: string[] = [];
  let start = ns[0] as number;
  let prev = start;
  for (const n of [...ns.slice(1), Number.NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}–${prev}`);
    start = n;
    prev = n;
  }
  return out.join(', ');
}
