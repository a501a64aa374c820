/** Slack's replay window: a signed request is valid for five minutes either side of our clock. */
export const MAX_SKEW_SECONDS = 300;

/**
 * Accept `X-Slack-Request-Timestamp` only when it is a whole number of seconds within five minutes of now,
 * in either direction. Bolt rejects old ones but accepts any future one, which would let a captured
 * request be replayed later.
 */
export function isFreshTimestamp(header: string | undefined, nowMs: number): boolean {
  if (header === undefined || !/^[0-9]{1,12}$/.test(header)) return false;
  return Math.abs(Math.floor(nowMs / 1000) - Number(header)) <= MAX_SKEW_SECONDS;
}
