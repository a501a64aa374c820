// Which Slack Web API errors are worth retrying (docs/domain.md#channels-and-scopes): a permanent one will
// fail the same way every time, so it is never retried in a loop: the messenger falls back, logs it once
// and counts it. Rate limits, 5xx and network failures are transient (the client and the pacer retry them).

/** Errors that name the request or the channel, not the moment. */
export const PERMANENT_ERRORS = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
  'no_text',
  'too_many_attachments',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'cannot_reply_to_message',
  'ekm_access_denied',
  'team_access_not_granted',
  'missing_scope',
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'no_permission',
  'user_not_found',
  'cannot_dm_bot',
  'method_not_supported_for_channel_type',
  'invalid_arguments',
]);

/** Errors that say the bot cannot post in that channel (as opposed to: this message is wrong). */
export const CHANNEL_ERRORS = new Set([
  'not_in_channel',
  'channel_not_found',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'ekm_access_denied',
]);

/** The `error` of a Slack platform error (`{ ok: false, error }`), if `e` is one. */
export function slackErrorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; data?: { error?: unknown } };
  if (err.code === 'slack_webapi_platform_error' && typeof err.data?.error === 'string')
    return err.data.error;
  return undefined;
}

export function isPermanentSlackError(e: unknown): boolean {
  const code = slackErrorCode(e);
  return code !== undefined && PERMANENT_ERRORS.has(code);
}
