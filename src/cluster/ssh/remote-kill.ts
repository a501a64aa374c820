import type { Client } from 'ssh2';
import type { Logger } from '../../logger.js';
import { quoteArgv } from '../quote.js';

/**
 * Kills remote process groups with a separate `kill -KILL -- -pid…` exec. Needed because sshd ignores
 * `signal` requests in sessions it runs without privilege separation (root logins), and closing a non-pty
 * channel does not stop the command. Runs outside the channel cap (which stays below MaxSessions to leave
 * room for it), one exec at a time, batching whatever piles up meanwhile.
 */
export class RemoteKill {
  readonly #pending = new Set<number>();
  #killing = false;
  readonly #isCurrent: (client: Client) => boolean;
  readonly #logger: Logger;

  /** `isCurrent` says whether a client is still the pooled connection: a kill goes over no other. */
  constructor(isCurrent: (client: Client) => boolean, logger: Logger) {
    this.#isCurrent = isCurrent;
    this.#logger = logger;
  }

  /** SIGKILL the process group `pid` (a session's group, as the pid marker reported it). */
  kill(client: Client, pid: number): void {
    this.#pending.add(pid);
    this.#flush(client);
  }

  /** Until no kill is on its way, or `maxMs` passed: a closing transport lets kills reach the server first. */
  async settled(maxMs: number): Promise<void> {
    for (let waited = 0; this.#killing && waited < maxMs; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #flush(client: Client): void {
    if (this.#killing || this.#pending.size === 0 || !this.#isCurrent(client)) return;
    const pids = [...this.#pending];
    this.#pending.clear();
    this.#killing = true;
    const done = () => {
      this.#killing = false;
      this.#flush(client);
    };
    const cmd = quoteArgv(['kill', '-KILL', '--', ...pids.map((p) => `-${p}`)]);
    try {
      client.exec(cmd, (err, stream) => {
        if (err) {
          this.#logger.warn({ pids, err: err.message }, 'could not kill timed-out remote commands');
          done();
          return;
        }
        stream.on('data', () => {});
        stream.stderr.on('data', () => {});
        stream.on('close', done);
        stream.end();
      });
    } catch {
      done();
    }
  }
}
