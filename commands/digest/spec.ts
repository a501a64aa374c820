// What /digest's listing (digest-command.ts) and its implementation both name. Kept apart from the
// implementation so that the listing loads none of it.

export const REPORT_USAGE = '/digest [--since <ISO>] [--until <ISO>] [--logs <dir>]';

/** The period's flags, as `/digest` and `/ckpt digest` take them. */
export const PERIOD_FLAGS = { since: 'string', until: 'string' } as const;
