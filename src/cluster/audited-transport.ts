import { currentInvocation } from '../audit.js';
import { type RemoteScript, scriptAuditArgv } from './remote-script.js';
import type { RunOptions, RunResult, Transport } from './transport.js';

/**
 * Wraps a transport so each argv it runs is recorded in the current invocation's audit record — including
 * calls made deep inside the Slurm client, which never sees the context. A script is recorded by its file
 * name and operands, not its body. Stats (statPaths) run no command and are not recorded.
 */
export function auditingTransport(inner: Transport): Transport {
  return {
    kind: inner.kind,
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
      currentInvocation()?.argv(argv);
      return inner.run(argv, opts);
    },
    runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions): Promise<RunResult> {
      currentInvocation()?.argv(scriptAuditArgv(script, operands));
      return inner.runScript(script, operands, opts);
    },
    // A stat runs no command (the agent answers it, or fs locally): nothing to record.
    ...(inner.statPaths ? { statPaths: inner.statPaths.bind(inner) } : {}),
    close: () => inner.close(),
  };
}
