import type { Services } from '../../commands/core/services.js';
import type { Messenger } from '../messenger.js';
import type { FileCalls } from '../node-fs.js';

// What an offline CLI command is given (`chatops train scan-log <file>`, `chatops digest --logs <dir>`, and
// help): the services that read this machine's files, each module imported when first used, so help loads
// none of them. The cluster and the queues are not built, so nothing here opens a Redis or SSH connection
// or loads their clients. `files`: how a local log is read (synchronously, in a one-shot call).

export function offlineServices(messenger: Messenger, files: FileCalls): Services {
  return {
    slurm: notBuilt('the Slurm client'),
    files: notBuilt("the cluster's files"),
    checkpoints: notBuilt("the cluster's checkpoints"),
    messenger,
    train: {
      monitor: notBuilt('the training watch'),
      scanLogFile: async (path) => (await import('../training/scan-log-file.js')).scanLogFile(path, files),
    },
    uploads: notBuilt('the upload queue'),
    digest: {
      cluster: notBuilt("the cluster's digest"),
      // The same one-command scan as on the cluster, run here; its program runner loads only for this.
      async local(dir) {
        const [{ localDigestSource }, { LocalTransport }, { PipelineScanner }] = await Promise.all([
          import('../digest/digest-source.js'),
          import('../cluster/local/local-transport.js'),
          import('../cluster/pipeline-scanner.js'),
        ]);
        return localDigestSource(dir, new PipelineScanner(new LocalTransport()));
      },
    },
  };
}

/**
 * A member an offline command must not reach (or the configuration, where help does not read it). The CLI decides which invocations are offline before it
 * builds anything (src/app/cli.ts, runsOffline); one that reaches here fails with this message instead of
 * connecting somewhere.
 */
export function notBuilt<T extends object>(what: string): T {
  // A Proxy stands in for any service type: every property read fails the same way.
  return new Proxy({} as T, {
    get(_target, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      throw new Error(`${what} is not available to an offline command (asked for .${prop})`);
    },
  });
}
