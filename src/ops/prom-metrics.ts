import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CounterMetric, HistogramMetric, Metrics } from '../metrics.js';

// The Prometheus side of the metrics contract (src/metrics.ts): one Registry per process, scraped by the ops
// server's GET /metrics. Names follow Prometheus' conventions: a `chatops_` prefix, `_total` on counters,
// `_seconds` on durations (docs/domain.md#operating-the-bot).

/** A gauge read when Prometheus scrapes: queue depths and watches live in Redis, not in this process. */
export interface SampledGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  sample(): Promise<readonly { readonly labels: Readonly<Record<string, string>>; readonly value: number }[]>;
}

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
  /** Commands running right now (the shutdown waits for 0). */
  inFlight(): number;
  /** Gauges read on every scrape, added once the things they read exist. */
  addGauges(gauges: readonly SampledGauge[]): void;
}

const ACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5];
const SWEEP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createPromMetrics(): PromMetrics {
  const registry = new Registry();
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
    const c = new Counter({ name, help, labelNames, registers: [registry] });
    const m: CounterMetric<L> = { inc: (labels, by = 1) => c.inc(labels as Partial<Record<L, string>>, by) };
    return m;
  };
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => {
    const h = new Histogram({ name, help, labelNames, buckets, registers: [registry] });
    const m: HistogramMetric<L> = {
      observe: (labels, s) => h.observe(labels as Partial<Record<L, string>>, s),
    };
    return m;
  };
  let inFlight = 0;
  const inFlightGauge = new Gauge({
    name: 'chatops_commands_in_flight',
    help: 'Commands and button actions running right now',
    registers: [registry],
  });
  const addGauge = (g: SampledGauge) =>
    new Gauge({
      name: g.name,
      help: g.help,
      labelNames: g.labelNames,
      registers: [registry],
      // prom-client calls collect() on every scrape; a failed sample leaves the gauge empty for that scrape.
      async collect() {
        this.reset();
        const samples = await g.sample().catch(() => []);
        for (const s of samples) this.set(s.labels, s.value);
      },
    });
  return {
    registry,
    inFlight: () => inFlight,
    addGauges(gauges) {
      for (const g of gauges) addGauge(g);
    },
    commands: counter('chatops_commands_total', 'Commands and button actions dispatched, by outcome', [
      'command',
      'outcome',
    ]),
    commandsInFlight: {
      inc() {
        inFlight++;
        inFlightGauge.set(inFlight);
      },
      dec() {
        inFlight = Math.max(0, inFlight - 1);
        inFlightGauge.set(inFlight);
      },
    },
    ackLatency: histogram(
      'chatops_slack_ack_seconds',
      'From a Slack listener starting to its ack being sent (Slack allows 3 s)',
      ['kind'],
      ACK_BUCKETS,
    ),
    slackApiCalls: counter(
      'chatops_slack_api_calls_total',
      "Slack Web API calls by method and Slack's error code ('' = ok)",
      ['method', 'error'],
    ),
    uploads: counter('chatops_uploads_total', 'Checkpoint pipeline runs that ended, by outcome', ['outcome']),
    hubPauses: counter('chatops_hub_pauses_total', 'Pauses of every upload start after a Hub 429', []),
    sshReconnects: counter(
      'chatops_ssh_reconnects_total',
      'SSH connections opened again after a drop or a failed attempt',
      [],
    ),
    sshChannelWaits: counter(
      'chatops_ssh_channel_waits_total',
      'Commands that waited for an SSH channel (all busy, or refused by sshd MaxSessions)',
      ['reason'],
    ),
    digestSweeps: histogram(
      'chatops_digest_sweep_seconds',
      'Sweeps of the pipeline-log directory (quick: nothing changed; full: a scan ran)',
      ['kind'],
      SWEEP_BUCKETS,
    ),
  };
}
