import { JobId } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { type CommandContext, implementAction, implementSubcommand } from '../core/command.js';
import { CANCEL_ACTION, CANCEL_USAGE } from './spec.js';

// COMPLETING is not here: a job being cancelled already shows it, and must not be cancelled twice.
const CANCELLABLE = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'SUSPENDED',
  'STOPPED',
  'REQUEUED',
  'REQUEUE_HOLD',
  'SPECIAL_EXIT',
  'RESV_DEL_HOLD',
  'unknown',
]);

export const trainCancel = implementSubcommand({
  args: z.object({ jobId: JobId }),
  async run({ jobId }, ctx): Promise<Reply> {
    const job = await ctx.services.slurm.job(jobId);
    if (!job) throw new UserError(`Slurm does not know job ${jobId}.`, CANCEL_USAGE);
    if (!CANCELLABLE.has(job.state)) {
      return {
        level: 'info',
        text: `Job ${jobId} (${job.name}) is ${job.rawState || job.state}: nothing to cancel.`,
        data: { jobId, state: job.state, cancelled: false },
      };
    }
    return {
      level: 'warn',
      title: `Cancel job ${jobId}?`,
      fields: [
        { label: 'name', value: job.name },
        { label: 'user', value: job.user },
        { label: 'state', value: job.rawState || job.state },
        ...(job.comment ? [{ label: 'comment', value: job.comment }] : []),
      ],
      buttons: [
        {
          actionId: CANCEL_ACTION,
          label: `Cancel job ${jobId}`,
          value: jobId,
          style: 'danger',
          confirm: {
            title: 'Cancel the job?',
            text: `scancel ${jobId} (${job.name}). This cannot be undone.`,
            confirm: 'Cancel it',
            deny: 'Keep it',
          },
        },
      ],
      data: { jobId, state: job.state, cancelled: false, confirm: true },
    };
  },
});

// Clicks on the same job in this process share one cancellation (a double click cancels once); across
// processes the state check below makes a later click a no-op.
const inFlight = new Map<string, Promise<Reply>>();

async function cancelOnce(jobId: string, ctx: CommandContext): Promise<Reply> {
  const job = await ctx.services.slurm.job(jobId);
  if (!job)
    return {
      level: 'info',
      text: `Slurm no longer knows job ${jobId}: nothing to cancel.`,
      data: { jobId, cancelled: false },
    };
  if (!CANCELLABLE.has(job.state)) {
    return {
      level: 'info',
      text: `Job ${jobId} is already ${job.rawState || job.state}: nothing to cancel.`,
      data: { jobId, state: job.state, cancelled: false },
    };
  }
  await ctx.services.slurm.cancel(jobId);
  ctx.audit.note('jobId', jobId);
  return {
    level: 'ok',
    text: `Cancelled job ${jobId} (${job.name}, was ${job.rawState || job.state}) for ${ctx.user.name ?? ctx.user.id}.`,
    data: { jobId, previousState: job.state, cancelled: true },
  };
}

export const trainCancelAction = implementAction({
  value: JobId,
  run(jobId, ctx) {
    const running = inFlight.get(jobId);
    if (running)
      return running.then((r) => ({
        ...r,
        text: `Job ${jobId}: already being cancelled by another click.`,
        data: { jobId, cancelled: false },
      }));
    const p = cancelOnce(jobId, ctx).finally(() => inFlight.delete(jobId));
    inFlight.set(jobId, p);
    return p;
  },
});
