/** The only way anything runs on the cluster. Implementations: ssh-transport.ts, local-transport.ts. */
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

export interface Transport {
  readonly kind: 'ssh' | 'local';
  /**
   * Run argv (no shell on the local side; one quoted command line on the SSH side). A non-zero exit is
   * returned, not thrown; timeouts, output overflow and connection failures throw ClusterError.
   */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
