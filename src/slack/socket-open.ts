import { ErrorCode, WebClient } from '@slack/web-api';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { boltLogger } from './bolt-logger.js';

/**
 * `apps.connections.open` answers that no retry can fix: the app token is wrong, revoked or lacks
 * `connections:write`. Everything else — HTTP 5xx, a network failure, `internal_error`, `fatal_error`,
 * `ratelimited` — is Slack having a bad moment, and the receiver tries again.
 */
const TOKEN_ERRORS = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
]);

/** Why a call failed, in one line; `permanent` when it is the token (a setting), not Slack. */
export function describeOpenError(err: unknown): { readonly reason: string; readonly permanent: boolean } {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number; message?: string };
  if (e?.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'unknown_error';
    return { reason: `apps.connections.open answered ${code}`, permanent: TOKEN_ERRORS.has(code) };
  }
  if (e?.code === ErrorCode.HTTPError) {
    return { reason: `apps.connections.open answered HTTP ${e.statusCode ?? '?'}`, permanent: false };
  }
  if (e?.code === ErrorCode.RateLimitedError) {
    return { reason: 'apps.connections.open was rate limited', permanent: false };
  }
  return { reason: `apps.connections.open failed: ${e?.message ?? String(err)}`, permanent: false };
}

/** Asks Slack for a fresh, single-use WebSocket URL (or uses SLACK_SOCKET_URL when set, for local servers). */
export function socketUrlSource(
  config: Pick<Config, 'SLACK_API_URL' | 'SLACK_APP_TOKEN' | 'SLACK_SOCKET_URL'>,
  log: Logger,
): () => Promise<string> {
  const fixed = config.SLACK_SOCKET_URL;
  if (fixed) return async () => fixed;
  const client = new WebClient(config.SLACK_APP_TOKEN, {
    slackApiUrl: config.SLACK_API_URL,
    logger: boltLogger(log),
    // The receiver's own backoff decides when to try again; the client's retries would only hide failures.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // A call that hangs must not stall reconnecting.
    timeout: 10_000,
  });
  return async () => {
    const res = await client.apps.connections.open();
    if (!res.url) throw new Error('apps.connections.open returned no url');
    return res.url;
  };
}
