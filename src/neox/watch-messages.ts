import type { Reply } from '../reply.js';
import { DIAGNOSIS, type Finding } from './failure-kinds.js';
import { etaMs, formatDuration, formatLoss } from './format.js';
import { lossToNumber } from './log-line.js';
import { sparkline } from './sparkline.js';
import type { WatchData } from './watch-state.js';

// What the watch posts in its thread. Plain Reply data: Slack renders it, the console prints it.

const mention = (d: WatchData) => (d.req.submitter ? `<@${d.req.submitter}> ` : '');

export function watchStartMessage(d: WatchData): Reply {
  return {
    level: 'info',
    title: `Watching training job ${d.req.jobId}`,
    text: `Updates in this thread: a report at 50 iterations, diagnosis of early failures, the final state.`,
    fields: [
      { label: 'log', value: `\`${d.req.logPath}\`` },
      ...(d.req.configPath ? [{ label: 'config', value: `\`${d.req.configPath}\`` }] : []),
    ],
    data: { event: 'watch_started', jobId: d.req.jobId, logPath: d.req.logPath },
  };
}

export function progressFields(d: WatchData): { label: string; value: string }[] {
  const s = d.scan;
  const recent = s.recent.slice(-10);
  const eta = etaMs(s.lastIteration, s.trainIters, s.lastMsPerIteration);
  return [
    {
      label: 'iteration',
      value: s.lastIteration === null ? '—' : `${s.lastIteration} / ${s.trainIters ?? '?'}`,
    },
    {
      label: 'recent loss',
      value:
        recent.length === 0
          ? '—'
          : `${sparkline(recent.map((p) => lossToNumber(p.loss)))}  ${recent.map((p) => formatLoss(p.loss)).join(', ')}`,
    },
    {
      label: 'time / iteration',
      value: s.lastMsPerIteration === null ? '—' : `${(s.lastMsPerIteration / 1000).toFixed(3)} s`,
    },
    { label: 'ETA', value: eta === null ? '—' : formatDuration(eta) },
  ];
}

function checkpointLine(d: WatchData): string {
  if (d.reported.checkpoint) return `saving works: \`${d.reported.checkpoint}\` exists in \`${d.req.save}\``;
  if (!d.req.save) return 'no `save` directory in the config: no checkpoints will be written';
  const s = d.scan;
  if (d.req.saveInterval && s.lastIteration !== null) {
    const next = Math.ceil((s.lastIteration + 1) / d.req.saveInterval) * d.req.saveInterval;
    const eta =
      s.lastMsPerIteration === null
        ? ''
        : ` (in about ${formatDuration((next - s.lastIteration) * s.lastMsPerIteration)})`;
    return `no \`global_step*\` in \`${d.req.save}\` yet; the first is due at iteration ${next}${eta}`;
  }
  return `no \`global_step*\` in \`${d.req.save}\` yet`;
}

/** The loss so far, with the report iteration and each finding whose iteration is known marked on it. */
export function lossChart(d: WatchData, reportAt?: number): Reply['chart'] {
  const points = d.scan.curve
    .map((p) => [p.iteration, lossToNumber(p.loss)] as const)
    .filter(([, v]) => Number.isFinite(v));
  const marks = [
    ...(reportAt === undefined ? [] : [{ x: reportAt, label: `report at ${reportAt}` }]),
    ...d.scan.findings.flatMap((f) =>
      typeof f.iteration === 'number' ? [{ x: f.iteration, label: `${f.kind} at ${f.iteration}` }] : [],
    ),
  ];
  return {
    kind: 'line',
    title: `Job ${d.req.jobId}: lm_loss`,
    xLabel: 'iteration',
    yLabel: 'lm_loss',
    xType: 'number',
    series: [{ name: 'lm_loss', points }],
    ...(marks.length > 0 ? { marks } : {}),
  };
}

export function report50Message(d: WatchData, reportAt: number): Reply {
  return {
    level: 'ok',
    title: `Job ${d.req.jobId}: ${reportAt}+ iterations completed`,
    text: `Training is running. Checkpoints: ${checkpointLine(d)}.`,
    fields: progressFields(d),
    chart: lossChart(d, reportAt),
    data: {
      event: 'report50',
      jobId: d.req.jobId,
      lastIteration: d.scan.lastIteration,
      trainIters: d.scan.trainIters,
      recentLosses: d.scan.recent.slice(-10).map((p) => ({ iteration: p.iteration, loss: p.loss })),
      msPerIteration: d.scan.lastMsPerIteration,
      checkpoint: d.reported.checkpoint,
    },
  };
}

export function checkpointMessage(d: WatchData): Reply {
  return {
    level: 'ok',
    text: `Job ${d.req.jobId}: first checkpoint written, \`${d.reported.checkpoint}\` in \`${d.req.save}\`. Checkpoint saving works.`,
    data: { event: 'checkpoint', jobId: d.req.jobId, checkpoint: d.reported.checkpoint },
  };
}

export interface FixSuggestion {
  readonly text: string;
  readonly button?: { readonly label: string; readonly actionId: string; readonly value: string };
}

export function findingMessage(d: WatchData, f: Finding, fix: FixSuggestion | null): Reply {
  const base = {
    fields: [
      { label: 'kind', value: `${f.kind} (${f.action})` },
      { label: 'log line', value: String(f.line) },
    ],
    code: f.excerpt,
    data: { event: 'finding', jobId: d.req.jobId, finding: f },
  };
  const what = DIAGNOSIS[f.kind];
  switch (f.action) {
    case 'escalate':
      return {
        ...base,
        level: 'error',
        title: `Job ${d.req.jobId}: ${f.kind} — needs a person`,
        text: `${mention(d)}${what} This needs your decision: the bot will not change batch size, learning rate, sequence length or any other hyperparameter, and will not resubmit this job on its own.`,
      };
    case 'auto-fix':
      return {
        ...base,
        level: 'warn',
        title: `Job ${d.req.jobId}: ${f.kind}`,
        text: `${what}${fix ? ` Fix: ${fix.text}` : ''}`,
        ...(fix?.button
          ? {
              buttons: [
                {
                  actionId: fix.button.actionId,
                  label: fix.button.label,
                  value: fix.button.value,
                  style: 'primary' as const,
                },
              ],
            }
          : {}),
      };
    case 'transient':
      return {
        ...base,
        level: 'warn',
        title: `Job ${d.req.jobId}: ${f.kind} (often transient)`,
        text: `${what} The bot keeps watching: it says so if iterations resume, and reports the final state and log tail when the job leaves the queue.`,
      };
    default:
      return { ...base, level: 'info', title: `Job ${d.req.jobId}: ${f.kind}`, text: what };
  }
}

export function noticeMessage(d: WatchData, text: string, event: string): Reply {
  return { level: 'info', text: `Job ${d.req.jobId}: ${text}`, data: { event, jobId: d.req.jobId } };
}

export function finalMessage(
  d: WatchData,
  state: string,
  exitCode: string | null,
  tail: string | null,
): Reply {
  const ok = state === 'COMPLETED';
  const findings = d.scan.findings.map((f) => f.kind);
  return {
    level: ok && findings.length === 0 ? 'ok' : ok ? 'warn' : 'error',
    title: `Job ${d.req.jobId} left the queue: ${state}${exitCode ? ` (exit code ${exitCode})` : ''}`,
    fields: [
      ...progressFields(d),
      { label: 'findings', value: findings.length === 0 ? 'none' : findings.join(', ') },
    ],
    ...(tail === null ? { text: 'The log file does not exist.' } : { code: tail }),
    data: {
      event: 'final',
      jobId: d.req.jobId,
      state,
      exitCode,
      findings,
      lastIteration: d.scan.lastIteration,
    },
  };
}
