/**
 * A command's answer as plain data. `src/slack/` renders it as Block Kit, `src/cli/` as text or JSON;
 * commands never know which.
 */
export type ReplyLevel = 'info' | 'ok' | 'warn' | 'error';

export interface ReplyField {
  readonly label: string;
  readonly value: string;
}

export interface ReplyTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface ReplyConfirm {
  readonly title: string;
  readonly text: string;
  readonly confirm: string;
  readonly deny: string;
}

export interface ReplyButton {
  /** Action id the Slack action listener is registered under, e.g. `train.cancel.confirm`. */
  readonly actionId: string;
  readonly label: string;
  /** Opaque payload given back to the action handler (validated again there). */
  readonly value: string;
  readonly style?: 'primary' | 'danger';
  readonly confirm?: ReplyConfirm;
}

export interface ReplyChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Shown beside each point (same order as `points`), e.g. "83% (5/6)"; absent → the value itself. */
  readonly labels?: readonly string[];
}

/** A point of note on a line chart's x axis (the 50-iteration report, a finding). */
export interface ReplyChartMark {
  readonly x: number;
  readonly label: string;
}

export interface ReplyChart {
  readonly kind: 'line' | 'bar';
  readonly title: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly series: readonly ReplyChartSeries[];
  readonly marks?: readonly ReplyChartMark[];
  /**
   * What x means. 'number' (the default): a value. 'time': milliseconds since the epoch, drawn as dates.
   * 'category': a bar chart where each series is one bar named by the series' name, drawn in the given order.
   */
  readonly xType?: 'number' | 'time' | 'category';
  /** A fixed value axis, e.g. [0, 100] for a percentage; absent → fitted to the data. */
  readonly yDomain?: readonly [number, number];
  /** Written after the values on the value axis, e.g. '%'. */
  readonly yUnit?: string;
}

/**
 * The whole of something a message can only summarise (a long table as CSV, a log as text): Slack attaches
 * it as a file, the console writes it to a file and prints the path.
 */
export interface ReplyFile {
  readonly filename: string;
  readonly title: string;
  readonly content: string;
}

export interface Reply {
  readonly level?: ReplyLevel;
  readonly title?: string;
  /** Short paragraphs; `*bold*` and `` `code` `` are the only markup, both readable as plain text. */
  readonly text?: string;
  readonly fields?: readonly ReplyField[];
  readonly table?: ReplyTable;
  readonly code?: string;
  readonly chart?: ReplyChart;
  readonly buttons?: readonly ReplyButton[];
  /** Attached in full; the message itself says what is attached and why. */
  readonly files?: readonly ReplyFile[];
  readonly context?: readonly string[];
  /** Only the invoking user sees it (errors, help). */
  readonly ephemeral?: boolean;
  /** Machine-readable answer: what `--json` prints. */
  readonly data?: unknown;
}

export function errorReply(message: string, usage?: string): Reply {
  return {
    level: 'error',
    text: message,
    ...(usage ? { context: [`Usage: ${usage}`] } : {}),
    ephemeral: true,
    data: { error: message, ...(usage ? { usage } : {}) },
  };
}
