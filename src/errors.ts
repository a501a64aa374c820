/** Shown to the user as-is, never retried. `usage` is the usage line of the command that failed, if any. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A command on the cluster failed: keeps what an operator needs to see (exit code, trimmed stderr). */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  constructor(
    message: string,
    readonly details: {
      readonly argv?: readonly string[];
      readonly exitCode?: number | null;
      readonly stderr?: string;
      readonly timedOut?: boolean;
      /** The connection died while the command ran: it may or may not have run to its end. */
      readonly connectionLost?: boolean;
    } = {},
  ) {
    super(message);
  }
}

/** Trim stderr to what fits in a chat message: the last lines matter most. */
export function trimStderr(stderr: string, maxChars = 2000): string {
  const t = stderr.trim();
  return t.length <= maxChars ? t : `…${t.slice(t.length - maxChars)}`;
}
