/**
 * Whether the bot can hear Slack right now, for readiness checks and logs. In Socket Mode `connected` means
 * at least one WebSocket has said `hello` and is still open; in HTTP mode Slack calls us, so the bot counts
 * as connected once it listens.
 */
export interface SlackConnectionStatus {
  readonly connected: boolean;
  /** Epoch ms of the last change between connected and disconnected. */
  readonly since: number;
  /** One line for people: "Slack disconnected since <ISO time>: <reason>" while down. */
  readonly detail: string;
}

export function connectedStatus(since: number, detail: string): SlackConnectionStatus {
  return { connected: true, since, detail };
}

export function disconnectedStatus(since: number, reason: string): SlackConnectionStatus {
  return {
    connected: false,
    since,
    detail: `Slack disconnected since ${new Date(since).toISOString()}: ${reason}`,
  };
}
