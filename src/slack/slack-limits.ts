// What Slack accepts in one message (docs/domain.md#block-kit-limits). render-blocks.ts sizes every message
// against these after escaping; the strict stand-in of the tests enforces the same numbers.

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 2000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** The top-level `text` (the notification fallback): Slack truncates beyond 40,000; keep it short. */
  fallbackText: 3000,
} as const;

/**
 * Slack refuses a message whose blocks carry more than about 12,000 characters of text in total, even when
 * every block is within its own limit (`msg_blocks_too_long`; undocumented, docs/domain.md#block-kit-limits).
 */
export const TOTAL_BLOCK_TEXT_LIMIT = 12_000;

/** What the renderer allows itself: a message of 11,341 characters was refused once, so stay well below. */
export const TOTAL_BLOCK_TEXT_BUDGET = 10_000;

/** Keys whose strings are markup, not text: they do not count towards the total. */
const NOT_TEXT = new Set(['type', 'style', 'action_id', 'block_id', 'emoji', 'verbatim']);

/** The characters of text a message's blocks carry, counted the way the total limit is: every string. */
export function blockTextLength(value: unknown, key = ''): number {
  if (typeof value === 'string') return NOT_TEXT.has(key) ? 0 : value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + blockTextLength(v, key), 0);
  if (value && typeof value === 'object') {
    let n = 0;
    for (const [k, v] of Object.entries(value)) n += blockTextLength(v, k);
    return n;
  }
  return 0;
}
