import { ExperimentName } from '../../src/args.js';
import { errorReply, type Reply } from '../../src/reply.js';
import {
  type CheckpointStatus,
  checkpointStatus,
  type StatusResult,
} from '../../src/uploads/checkpoint-status.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';
import { STATUS_USAGE } from './spec.js';

export const ckptStatus = implementSubcommand({
  args: z.object({ experiment: ExperimentName }),
  async run(args, ctx): Promise<Reply> {
    const result = await checkpointStatus(
      {
        checkpoints: ctx.services.checkpoints,
        checkpointsBaseDir: ctx.config.CHECKPOINTS_BASE_DIR,
        logs: ctx.services.digest.cluster,
        uploads: ctx.services.uploads.queue,
      },
      args.experiment,
    );
    return statusReply(result, args.experiment);
  },
});

export function missingExperimentReply(
  result: Exclude<StatusResult, { kind: 'ok' }>,
  experiment: string,
): Reply {
  if (result.kind === 'missing-base') {
    return errorReply(
      `The checkpoint root \`${result.base}\` does not exist on the cluster. Check CHECKPOINTS_BASE_DIR: ` +
        'checkpoints live at {base_dir}/{experiment_name}/global_step{N}/ and the base dir should include ' +
        'sf_model_organisms/ (e.g. /projects/a5k/public/checkpoints/sf_model_organisms/).',
      STATUS_USAGE,
    );
  }
  if (result.kind === 'outside-root') {
    const reply = errorReply(
      `\`${experiment}\` under \`${result.base}\` is a symbolic link to \`${result.target}\`, outside the ` +
        'checkpoint root: the bot lists and uploads only what lies inside CHECKPOINTS_BASE_DIR. Move the ' +
        'checkpoints under the root, or link to a directory inside it.',
      STATUS_USAGE,
    );
    return { ...reply, data: { error: reply.text, base: result.base, target: result.target } };
  }
  const near =
    result.near.length > 0 ? ` Did you mean: ${result.near.map((n) => `\`${n}\``).join(', ')}?` : '';
  const reply = errorReply(
    `No experiment \`${experiment}\` under \`${result.base}\`.${near} Check that CHECKPOINTS_BASE_DIR includes ` +
      'sf_model_organisms/, that the name is spelt right (`/ckpt list` shows them all), and that training ' +
      'has saved a checkpoint yet.',
    STATUS_USAGE,
  );
  return { ...reply, data: { error: reply.text, base: result.base, near: result.near } };
}

export function statusReply(result: StatusResult, experiment: string): Reply {
  if (result.kind !== 'ok') return missingExperimentReply(result, experiment);
  const cps = result.checkpoints;
  const count = (s: CheckpointStatus['state']) => cps.filter((c) => c.state === s).length;
  const failed = cps.filter((c) => c.state === 'failed');
  const causes = (['rate_limited', 'timeout', 'other'] as const)
    .map((k) => [k, failed.filter((c) => c.cause === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${causeLabel(k)}`);
  const summary =
    cps.length === 0
      ? `No global_step* checkpoints in \`${result.dir}\` yet.`
      : `${cps.length} checkpoints, ${formatBytes(cps.reduce((n, c) => n + c.bytes, 0))}: ${count('uploaded')} uploaded, ` +
        `${failed.length} failed${causes.length > 0 ? ` (${causes.join(', ')})` : ''}, ${count('running')} running, ` +
        `${count('queued')} queued, ${count('none')} not uploaded.`;
  return {
    level: failed.length > 0 || result.warnings.length > 0 ? 'warn' : 'info',
    title: `Checkpoints of ${result.experiment}`,
    text: summary,
    ...(cps.length > 0
      ? {
          table: {
            columns: ['step', 'size', 'state', 'detail'],
            rows: cps.map((c) => [String(c.step), formatBytes(c.bytes), stateLabel(c), detail(c)]),
          },
        }
      : {}),
    context: [...result.warnings],
    data: { experiment: result.experiment, dir: result.dir, checkpoints: cps, warnings: result.warnings },
  };
}

function causeLabel(c: string | null): string {
  return c === 'rate_limited' ? 'rate limited' : c === 'timeout' ? 'timeout' : 'other';
}

function stateLabel(c: CheckpointStatus): string {
  return c.state === 'failed' ? `failed (${causeLabel(c.cause)})` : c.state;
}

function detail(c: CheckpointStatus): string {
  const job = c.slurmJobId ? `job ${c.slurmJobId}` : '';
  switch (c.state) {
    case 'uploaded':
      return [c.repos.join(', '), job].filter(Boolean).join(' · ');
    case 'failed':
      return [job, c.line ?? ''].filter(Boolean).join(': ').slice(0, 300);
    case 'running':
    case 'queued':
      return [job, c.detail ?? ''].filter(Boolean).join(' · ');
    default:
      return '';
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
