import { ClusterError } from '../errors.js';
import type { RemoteScript } from './remote-script.js';
import type { RunOptions, RunResult, Transport } from './transport.js';

/**
 * At most `max` commands on the cluster at once; the rest wait their turn in order. The SSH transport
 * already caps its channels; this gives the local transport (a bot on the login node) the same bound, so a
 * burst of slash commands cannot fork hundreds of processes on the node the team logs into — nor starve the
 * event loop that has to ack the next command within 3 s.
 */
export function limitedTransport(inner: Transport, max: number): Transport & { readonly waiting: number } {
  let active = 0;
  let closed = false;
  const queue: { go(): void; fail(e: Error): void }[] = [];
  // A finished command hands its slot straight to the next waiter, so `active` never exceeds `max`.
  const release = () => {
    const next = queue.shift();
    if (next) next.go();
    else active--;
  };
  const gated = async (argv: readonly string[], go: () => Promise<RunResult>): Promise<RunResult> => {
    if (closed) throw new ClusterError('the bot is shutting down; nothing was run', { argv });
    if (active >= max) await new Promise<void>((go, fail) => queue.push({ go, fail }));
    else active++;
    try {
      return await go();
    } finally {
      release();
    }
  };
  return {
    kind: inner.kind,
    get waiting() {
      return queue.length;
    },
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
      return gated(argv, () => inner.run(argv, opts));
    },
    runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions): Promise<RunResult> {
      return gated([script.name, ...operands], () => inner.runScript(script, operands, opts));
    },
    // A stat answers from the agent the SSH transport keeps (or from fs): it starts no process to bound.
    ...(inner.statPaths ? { statPaths: inner.statPaths.bind(inner) } : {}),
    async close() {
      closed = true;
      for (const w of queue.splice(0)) w.fail(new ClusterError('the bot is shutting down; nothing was run'));
      await inner.close();
    },
  };
}
