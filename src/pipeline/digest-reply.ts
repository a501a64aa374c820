import type { Reply, ReplyChart } from '../reply.js';
import type { DigestComparison } from './digest-stats.js';

const CAUSE_LABEL = { rate_limited: 'rate limited (429)', timeout: 'timeout', other: 'other' } as const;
const MAX_FAILURE_LINES = 15;
/** Experiments in the message's table (most failures first, then most runs); all of them in the CSV. */
const TOP_EXPERIMENTS = 15;
const MAX_REPOS = 20;

export interface DigestReplyOptions {
  /** Daily totals, oldest first, for a 7-day trend chart; omit for a per-experiment bar chart. */
  readonly trend?: readonly { since: Date; completed: number; successRate: number }[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The digest as a Reply: `data` is exactly the `digest --json` contract (README, "The daily digest"). */
export function digestReply(cmp: DigestComparison, opts: DigestReplyOptions = {}): Reply {
  const d = cmp.current;
  const { since, until } = d.period;
  const names = Object.keys(d.json.experiments);
  const exp = d.json.experiments;
  const ranked = [...names].sort(
    (a, b) =>
      (exp[b]?.failed ?? 0) - (exp[a]?.failed ?? 0) ||
      (exp[b]?.completed ?? 0) - (exp[a]?.completed ?? 0) ||
      a.localeCompare(b),
  );
  const rows = names.map((n) => experimentRow(cmp, n));
  const top = ranked.slice(0, TOP_EXPERIMENTS).map((n) => experimentRow(cmp, n));
  const chart = digestChart(cmp, opts);
  const level = d.totals.failed > 0 ? 'warn' : 'ok';
  const day = since.toISOString().slice(0, 10);
  const long = names.length > TOP_EXPERIMENTS || d.json.uploadedRepos.length > MAX_REPOS;
  const files = long
    ? [
        {
          filename: `digest-${day}.csv`,
          title: `Checkpoint upload digest ${day}: every experiment`,
          content: csv([...TABLE_COLUMNS], rows),
        },
        ...(d.json.uploadedRepos.length > MAX_REPOS
          ? [
              {
                filename: `models-uploaded-${day}.txt`,
                title: `Models uploaded ${day}`,
                content: `${d.json.uploadedRepos.join('\n')}\n`,
              },
            ]
          : []),
      ]
    : [];
  return {
    level: names.length === 0 ? 'info' : level,
    title: `Checkpoint upload digest ${since.toISOString()} – ${until.toISOString()}`,
    text: summaryLines(cmp).join('\n'),
    ...(rows.length > 0 ? { table: { columns: [...TABLE_COLUMNS], rows: top } } : {}),
    ...(chart ? { chart } : {}),
    ...(files.length > 0 ? { files } : {}),
    context: [
      ...(names.length > TOP_EXPERIMENTS
        ? [
            `Top ${TOP_EXPERIMENTS} of ${names.length} experiments (most failures first): every experiment in the attached \`${files[0]?.filename}\`.`,
          ]
        : []),
      `A run belongs to the period by its log's modification time; previous period: ${cmp.previous.totals.succeeded}/${cmp.previous.totals.completed}.`,
    ],
    data: d.json,
  };
}

const TABLE_COLUMNS = [
  'experiment',
  'completed',
  'ok',
  'failed',
  'running',
  'success',
  '429/timeout/other',
  'Δ pts',
] as const;

/** The headline, the failures (at most MAX_FAILURE_LINES, then a count) and the models uploaded. */
function summaryLines(cmp: DigestComparison): string[] {
  const d = cmp.current;
  const t = d.totals;
  const change =
    cmp.successRateChange === null
      ? 'no comparison (previous period completed nothing)'
      : `${cmp.successRateChange >= 0 ? '+' : ''}${cmp.successRateChange.toFixed(1)} pts vs previous period`;
  const lines: string[] = [];
  if (Object.keys(d.json.experiments).length === 0) {
    lines.push('No checkpoint-pipeline runs in this period.');
  } else {
    lines.push(
      `*${t.succeeded}/${t.completed}* completed uploads succeeded (${pct(t.successRate)}), ${change}.` +
        (t.running > 0 ? ` ${t.running} still running.` : ''),
    );
  }
  if (d.failures.length > 0) {
    lines.push('', '*Failures*');
    for (const f of d.failures.slice(0, MAX_FAILURE_LINES)) {
      const step = f.step === null ? '' : ` step ${f.step}`;
      lines.push(
        `• ${f.experiment}${step} job \`${f.jobId ?? '?'}\` ${CAUSE_LABEL[f.cause]}: ${(f.line ?? '(no line)').slice(0, 200)}`,
      );
    }
    if (d.failures.length > MAX_FAILURE_LINES)
      lines.push(`…and ${d.failures.length - MAX_FAILURE_LINES} more`);
  }
  if (d.json.uploadedRepos.length > 0) {
    lines.push('', `*Models uploaded* (${d.json.uploadedRepos.length})`);
    const repos = d.json.uploadedRepos;
    lines.push(
      repos
        .slice(0, MAX_REPOS)
        .map((r) => `\`${r}\``)
        .join(', ') + (repos.length > MAX_REPOS ? ` … and ${repos.length - MAX_REPOS} more (attached)` : ''),
    );
  }
  return lines;
}

function csv(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return `${[columns, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

function experimentRow(cmp: DigestComparison, n: string): string[] {
  const c = cmp.current.json.experiments[n];
  if (!c) return [n];
  const ch = cmp.experimentRateChange[n];
  return [
    n,
    String(c.completed),
    String(c.succeeded),
    String(c.failed),
    String(c.running),
    c.completed === 0 ? '—' : pct(c.successRate),
    `${c.failures.rate_limited}/${c.failures.timeout}/${c.failures.other}`,
    ch === undefined ? '—' : `${ch >= 0 ? '+' : ''}${ch.toFixed(1)}`,
  ];
}

/**
 * The 7-day trend when given and not empty, dated by each period's start, 0–100%; else success per
 * experiment that completed an upload, worst first (ties by name), each bar labelled "83.3% (5/6)"; else none.
 */
function digestChart(cmp: DigestComparison, opts: DigestReplyOptions): ReplyChart | undefined {
  const experiments = cmp.current.json.experiments;
  if (opts.trend?.some((p) => p.completed > 0)) {
    // A day that completed nothing has no rate: a gap on its date, not a 0%.
    const days = opts.trend.filter((p) => p.completed > 0);
    return {
      kind: 'line',
      title: `Upload success rate, last ${opts.trend.length} days`,
      yLabel: 'success %',
      xType: 'time',
      yDomain: [0, 100],
      yUnit: '%',
      series: [
        {
          name: 'all experiments',
          points: days.map((p) => [p.since.getTime(), Math.round(p.successRate * 10) / 10] as const),
          labels: days.map((p) => `${Number(p.successRate.toFixed(1))}% of ${p.completed}`),
        },
      ],
    };
  }
  const bars = Object.entries(experiments)
    .filter(([, c]) => c.completed > 0)
    .map(([name, c]) => ({ name, c, pct: Math.round(c.successRate * 1000) / 10 }))
    .sort((a, b) => a.pct - b.pct || a.name.localeCompare(b.name));
  if (bars.length === 0) return undefined;
  return {
    kind: 'bar',
    title: 'Upload success rate per experiment',
    yLabel: 'success %',
    xType: 'category',
    yDomain: [0, 100],
    yUnit: '%',
    series: bars.map((b, i) => ({
      name: b.name,
      points: [[i, b.pct] as const],
      labels: [`${b.pct}% (${b.c.succeeded}/${b.c.completed})`],
    })),
  };
}
