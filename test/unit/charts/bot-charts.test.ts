import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSvg, ResvgChartRenderer } from '../../../src/charts/chart-png.js';
import { LogScanner } from '../../../src/neox/log-scanner.js';
import { lossChart, report50Message } from '../../../src/neox/watch-messages.js';
import { createWatchData } from '../../../src/neox/watch-state.js';
import { digestReply } from '../../../src/pipeline/digest-reply.js';
import { compareWithPrevious, dailyTrend, type LogRecord } from '../../../src/pipeline/digest-stats.js';
import { parsePipelineLog } from '../../../src/pipeline/pipeline-log.js';
import type { ReplyChart } from '../../../src/reply.js';
import { pipelineLogText, type RunKind } from '../../fixtures/pipeline/generate-logs.js';

// Every chart the bot posts, built by the code that posts it (the digest, the training watch), checked for
// what a reader needs and written to PNG files for a look (in <tmpdir>/chatops-chart-gallery).

const UNTIL = new Date('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const LONG =
  'neox-20b-pile-dedup-lr3e-4-seq2048-warmup1pct-zero1-bf16-run07-restart-from-global_step12000-final';

let job = 100;
function record(experiment: string, kind: RunKind, mtimeMs: number): LogRecord {
  const jobId = String(++job);
  const text = pipelineLogText({ jobId, experiment, step: 1000 + job, kind });
  return { name: `${jobId}.out`, size: text.length, mtimeMs, run: parsePipelineLog(text, { jobId }) };
}

/** Last day: `zero` failed twice, `half` 1/2, `long…` 3/4, `all` 2/2; earlier days vary, one day is empty. */
function records(): LogRecord[] {
  const t = UNTIL.getTime() - DAY / 2;
  const out = [
    record('zero', 'fail_429', t),
    record('zero', 'fail_timeout', t),
    record('half', 'success', t),
    record('half', 'fail_other', t),
    record(LONG, 'success', t),
    record(LONG, 'success_after_429', t),
    record(LONG, 'success', t),
    record(LONG, 'fail_429', t),
    record('all', 'success', t),
    record('all', 'success', t),
  ];
  for (const [day, ok, bad] of [
    [1, 4, 1],
    [2, 3, 0],
    [4, 1, 3],
    [5, 5, 0],
    [6, 2, 2],
  ] as const) {
    for (let i = 0; i < ok; i++) out.push(record('past', 'success', t - day * DAY));
    for (let i = 0; i < bad; i++) out.push(record('past', 'fail_other', t - day * DAY));
  }
  return out;
}

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '');

async function look(name: string, chart: ReplyChart): Promise<void> {
  const dir = join(tmpdir(), 'chatops-chart-gallery');
  await mkdir(dir, { recursive: true });
  const png = await new ResvgChartRenderer().png(chart);
  expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  await writeFile(join(dir, `${name}.png`), png);
}

describe('the digest charts', () => {
  const recs = records();
  const period = { since: new Date(UNTIL.getTime() - DAY), until: UNTIL };

  it('per experiment: worst first, every bar named and labelled with its counts, 0% included', async () => {
    const chart = digestReply(compareWithPrevious(recs, period)).chart as ReplyChart;
    expect(chart.kind).toBe('bar');
    expect(chart.series.map((s) => s.name)).toEqual(['zero', 'half', LONG, 'all']);
    expect(chart.series.map((s) => s.labels?.[0])).toEqual([
      '0% (0/2)',
      '50% (1/2)',
      '75% (3/4)',
      '100% (2/2)',
    ]);
    expect(chart.yDomain).toEqual([0, 100]);
    const t = texts(chartSvg(chart));
    expect(t).toEqual(expect.arrayContaining(['zero', 'half', 'all', '0% (0/2)', '100% (2/2)']));
    expect(t.some((s) => s.startsWith('neox-20b-pile') && s.includes('…'))).toBe(true);
    await look('digest-experiments', chart);
  });

  it('the 7-day trend: one date per day on the axis, the empty day too, 0–100%', async () => {
    const trend = dailyTrend(recs, UNTIL);
    const chart = digestReply(compareWithPrevious(recs, period), { trend }).chart as ReplyChart;
    expect(chart).toMatchObject({ kind: 'line', xType: 'time', yDomain: [0, 100] });
    // Nov 27 completed nothing: no point (no made-up 0%), but its date stays on the axis.
    expect(chart.series[0]?.points).toHaveLength(6);
    const t = texts(chartSvg(chart));
    for (const d of ['Nov 24', 'Nov 25', 'Nov 26', 'Nov 27', 'Nov 28', 'Nov 29', 'Nov 30'])
      expect(t).toContain(d);
    expect(t).toEqual(expect.arrayContaining(['0%', '100%', '60% of 10', '25% of 4']));
    await look('digest-trend', chart);
  });
});

describe('the training watch chart', () => {
  it('marks the 50-iteration report and each finding at its iteration', async () => {
    const d = createWatchData({
      jobId: '4242',
      logPath: '/logs/neox-training-4242.out',
      configPath: null,
      save: null,
      saveInterval: null,
      submitter: null,
      channel: 'C1',
      threadTs: null,
    });
    const log = readFileSync(
      join(import.meta.dirname, '..', '..', 'fixtures', 'neox', 'loss_spike.log'),
      'utf8',
    );
    const scanner = new LogScanner(d.scan);
    scanner.feed(log);
    d.scan = scanner.state;
    const spike = d.scan.findings.find((f) => f.kind === 'loss_spike');
    expect(spike?.iteration).toBe(11);
    const chart = report50Message(d, 10).chart as ReplyChart;
    expect(chart.marks).toEqual([
      { x: 10, label: 'report at 10' },
      { x: 11, label: 'loss_spike at 11' },
    ]);
    const t = texts(chartSvg(chart));
    expect(t).toEqual(expect.arrayContaining(['report at 10', 'loss_spike at 11', 'iteration', 'lm_loss']));
    // Without a report iteration (nothing to mark but the finding).
    expect(lossChart(d)?.marks).toEqual([{ x: 11, label: 'loss_spike at 11' }]);
    await look('watch-loss', chart);
  });
});
