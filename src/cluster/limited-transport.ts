import { ClusterError } from '../errors.js';
import { ChannelGate } from './channel-gate.js';
import { type RemoteScript, scriptAuditArgv } from './remote-script.js';
import type { RunOptions, RunResult, Transport } from './transport.js';

/**
 * At most `max` commands on the cluster at once; the rest wait their turn in order. The SSH transport
 * caps its channels with the same gate; this gives the local transport (a bot on the login node) the same
 * bound, so a burst of slash commands cannot fork hundreds of processes on the node the team logs into —
 * nor starve the event loop that has to ack the next command within 3 s.
 */
export function limitedTransport(inner: Transport, max: number): Transport & { readonly waiting: number } {
  const gate = new ChannelGate(max);
  let closed = false;
  const gated = async (argv: readonly string[], go: () => Promise<RunResult>): Promise<RunResult> => {
    if (closed) throw new ClusterError('the bot is shutting down; nothing was run', { argv });
    if (!gate.tryAcquire()) await gate.acquire();
    try {
      return await go();
    } finally {
      gate.release();
    }
  };
  return {
    kind: inner.kind,
    get waiting() {
      return gate.waiting;
    },
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
      return gated(argv, () => inner.run(argv, opts));
    },
    runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions): Promise<RunResult> {
      return gated(scriptAuditArgv(script, operands), () => inner.runScript(script, operands, opts));
    },
    // Not gated: a stat starts no process and opens no channel per call. Over SSH the agent's one channel
    // is a slot of the transport's own gate, which caps commands and the agent together at SSH_MAX_CHANNELS.
    ...(inner.statPaths
      ? {
          statPaths: (paths: readonly string[], opts?: { readonly timeoutMs?: number }) =>
            closed ? Promise.resolve(null) : (inner.statPaths?.(paths, opts) ?? Promise.resolve(null)),
        }
      : {}),
    async close() {
      closed = true;
      gate.refuseWaiting(new ClusterError('the bot is shutting down; nothing was run'));
      await inner.close();
    },
  };
}
