// The metrics contract: what the rooms count and time, as plain interfaces. Rooms record into the Metrics
// they are given and never import a metrics library; the ops room (src/ops/prom-metrics.ts) implements it
// for Prometheus, and noMetrics stands in for tests and the CLI.

export interface CounterMetric<L extends string> {
  inc(labels: Readonly<Record<L, string>>, by?: number): void;
}

export interface HistogramMetric<L extends string> {
  /** One observation, in seconds. */
  observe(labels: Readonly<Record<L, string>>, seconds: number): void;
}

export interface Metrics {
  /** Every dispatched command or button: `command` is its registry name (`ckpt list`), never user text. */
  readonly commands: CounterMetric<'command' | 'outcome'>;
  /** Commands running right now; the shutdown waits for them. */
  readonly commandsInFlight: { inc(): void; dec(): void };
  /** From a Slack listener's start to its ack being sent. */
  readonly ackLatency: HistogramMetric<'kind'>;
  /** Slack Web API calls by method; `error` is Slack's error code, or '' for a success. */
  readonly slackApiCalls: CounterMetric<'method' | 'error'>;
  /** Upload runs that ended: succeeded, retrying or failed. */
  readonly uploads: CounterMetric<'outcome'>;
  /** Pauses of every upload start after the Hub answered 429. */
  readonly hubPauses: CounterMetric<never>;
  /** SSH connections opened again after a drop or a failed attempt. */
  readonly sshReconnects: CounterMetric<never>;
  /** Commands that waited for an SSH channel: all busy, or sshd refused one (MaxSessions). */
  readonly sshChannelWaits: CounterMetric<'reason'>;
  /** One sweep of a pipeline-log directory: `kind` is quick (nothing changed) or full. */
  readonly digestSweeps: HistogramMetric<'kind'>;
}

const noCounter = { inc() {} };
const noHistogram = { observe() {} };

/** Records nothing: tests, the CLI, and any process without an ops server. */
export const noMetrics: Metrics = {
  commands: noCounter,
  commandsInFlight: { inc() {}, dec() {} },
  ackLatency: noHistogram,
  slackApiCalls: noCounter,
  uploads: noCounter,
  hubPauses: noCounter,
  sshReconnects: noCounter,
  sshChannelWaits: noCounter,
  digestSweeps: noHistogram,
};

/** Observe how long `p` takes to settle (seconds) and pass its result through. */
export function timed<T>(
  metric: HistogramMetric<'kind'> | undefined,
  kind: string,
  p: Promise<T>,
): Promise<T> {
  if (!metric) return p;
  const t0 = performance.now();
  const done = () => metric.observe({ kind }, (performance.now() - t0) / 1000);
  p.then(done, done);
  return p;
}
