/** One place in the line: `grant` runs with a slot held; `refuse` when it will never get one. */
interface Waiter {
  readonly grant: () => void;
  readonly refuse: (err: Error) => void;
}

/**
 * At most `max` holders at once; the rest wait their turn in order. The SSH transport caps its channels
 * with it (below sshd's MaxSessions) and limitedTransport caps commands with it. A released slot goes
 * straight to the next waiter, so the count never passes `max` and nobody overtakes the line between a
 * release and the grant.
 */
export class ChannelGate {
  readonly #max: number;
  #active = 0;
  readonly #waiters: Waiter[] = [];

  constructor(max: number) {
    if (!(Number.isInteger(max) && max >= 1)) {
      throw new Error(`ChannelGate: ${max} is not a whole number ≥ 1`);
    }
    this.#max = max;
  }

  /** Slots held right now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters in line. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Take a slot if one is free right now; never waits in line. */
  tryAcquire(): boolean {
    if (this.#active >= this.#max) return false;
    this.#active++;
    return true;
  }

  /**
   * Run `grant` with a slot held: at once when one is free, otherwise when a release hands it one. The
   * returned function leaves the line; it answers whether the waiter was still in it (and so never granted).
   */
  enter(grant: () => void, refuse: (err: Error) => void): () => boolean {
    if (this.tryAcquire()) {
      grant();
      return () => false;
    }
    const waiter: Waiter = { grant, refuse };
    this.#waiters.push(waiter);
    return () => {
      const i = this.#waiters.indexOf(waiter);
      if (i < 0) return false;
      this.#waiters.splice(i, 1);
      return true;
    };
  }

  /** A slot, in turn; rejected if the line is refused first. Pair with release(). */
  acquire(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.enter(resolve, reject);
    });
  }

  /** Give a slot back: to the next waiter if there is one. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) next.grant();
    else this.#active--;
  }

  /** Turn every waiter away with `err`, in order; slots held stay held. */
  refuseWaiting(err: Error): void {
    for (const w of this.#waiters.splice(0)) w.refuse(err);
  }
}
