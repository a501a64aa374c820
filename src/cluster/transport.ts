import type { RemoteScript } from './remote-script.js';

/** The only way anything runs on the cluster. Implementations: ssh/ssh-transport.ts, local/local-transport.ts. */
export interface RunOptions {
  /** Kill the command (remote side too) after this long. Default 30 s. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin, then stdin is closed. */
  readonly input?: string;
  /** Cap on stdout+stderr kept; beyond it the command is killed and ClusterError thrown. Default 16 MiB. */
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** What a stat says about one path. */
export interface PathStat {
  readonly size: number;
  /** Seconds since the epoch, to the microsecond at least (a double cannot hold find's nanoseconds). */
  readonly mtime: number;
}

export interface Transport {
  readonly kind: 'ssh' | 'local';
  /**
   * Run argv (no shell on the local side; one quoted command line on the SSH side). A non-zero exit is
   * returned, not thrown; timeouts, output overflow and connection failures throw ClusterError.
   */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * Run a trusted program from src/cluster/remote/ with operands. The body may hold newlines; the operands
   * are validated exactly like argv (no newlines or control characters) and are never spliced into code.
   * Same result and errors as run().
   */
  runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * Stat many paths without starting a process per call (a perl stat agent kept on the pooled SSH
   * connection; fs on this machine):
   * null for a path that does not exist. Resolves null as a whole when it cannot answer right now (not
   * connected, no perl with Time::HiRes, an error other than "no such file", timeout): callers then use run().
   */
  statPaths?(
    paths: readonly string[],
    opts?: { readonly timeoutMs?: number },
  ): Promise<(PathStat | null)[] | null>;
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
