import { SlurmJobName, SlurmPartition, SlurmTime } from '../../src/args.js';
import type { Config } from '../../src/config.js';
import { cannotPostHere } from '../../src/messenger.js';
import type { PreflightResult } from '../../src/neox/preflight.js';
import type { Reply } from '../../src/reply.js';
import {
  type SubmitTrainingInput,
  submitTraining,
  trainingLogPath,
} from '../../src/training/submit-training.js';
import * as z from '../../src/zod.js';
import { type CommandContext, implementAction, implementSubcommand } from '../core/command.js';
import { SUBMIT_ANYWAY_ACTION, SUBMIT_USAGE } from './spec.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

export const SubmitArgs = z.object({
  config: z
    .string({ error: 'give the config file (an absolute path, or relative to NEOX_DIR)' })
    .check(
      z.minLength(1, 'give the config file'),
      z.maxLength(4096, 'is too long for a path'),
      z.refine(noControl, 'cannot contain newlines or control characters'),
    ),
  name: z.optional(SlurmJobName),
  nodes: z.optional(
    z.coerce
      .number({ error: 'is a whole number' })
      .check(z.int('is a whole number'), z.gte(1), z.lte(10_000)),
  ),
  time: z.optional(SlurmTime),
  partition: z.optional(SlurmPartition),
});
export type SubmitArgs = z.infer<typeof SubmitArgs>;

export async function runSubmit(
  args: SubmitArgs,
  ctx: CommandContext,
  acceptWarnings: boolean,
): Promise<Reply> {
  const cfg = ctx.config;
  // Where the watch will post: this channel (checked before anything runs), or for the CLI the configured one.
  const channel = ctx.channel ?? notifyChannel(cfg);
  if (ctx.channel && ctx.services.messenger.reach) {
    const r = await ctx.services.messenger.reach(ctx.channel);
    if (!r.ok) {
      return {
        level: 'error',
        text: cannotPostHere(r.reason),
        ephemeral: true,
        data: { submitted: false, error: 'cannot_post_here', reason: r.reason },
      };
    }
  }
  const input: SubmitTrainingInput = { ...args, requestedBy: ctx.user.id, acceptWarnings };
  const submitter = ctx.source === 'slack' ? ctx.user.id : null;
  const monitor = ctx.services.train.monitor;
  // What the watch needs besides the job id and its log, from the preflight; channel is set where it runs.
  const watchOf = (pf: PreflightResult, channel: string) => ({
    configPath: pf.configPath,
    save: pf.savePath,
    saveInterval: pf.config?.saveInterval ?? null,
    submitter,
    channel,
    threadTs: null,
  });
  const r = await submitTraining(
    {
      files: ctx.services.files,
      slurm: ctx.services.slurm,
      neoxDir: cfg.NEOX_DIR,
      trainSbatch: cfg.TRAIN_SBATCH,
      logsDir: cfg.LOGS_DIR,
      // The watch is recorded before sbatch: a bot that dies while it runs leaves the job to be watched.
      ...(channel
        ? {
            beforeSubmit: (pf: PreflightResult, comment: string) =>
              monitor.expect(comment, watchOf(pf, channel), trainingLogPath(cfg.LOGS_DIR, '%j')),
          }
        : {}),
    },
    input,
  );
  const pf = r.preflight;
  ctx.audit.note('config', pf.configPath);
  if (r.kind === 'blocked') return blockedReply(pf);
  if (r.kind === 'needs-confirmation') return confirmReply(pf, args);
  ctx.audit.note('jobId', r.jobId);
  if (channel) {
    await monitor.watch(
      { ...watchOf(pf, channel), jobId: r.jobId, logPath: r.logPath },
      { comment: r.comment },
    );
  }
  const where = ctx.channel ? 'a thread follows' : `a thread follows in <#${channel}>`;
  return {
    level: 'ok',
    title: `Submitted training job ${r.jobId}`,
    text: channel
      ? `Watching it: ${where} with the 50-iteration report, any early failure and the final state.`
      : 'Not watched: NOTIFY_CHANNEL is `none` (or neither it nor DIGEST_CHANNEL is set), so no thread follows. `/train status` shows the job.',
    fields: [
      { label: 'job id', value: r.jobId },
      { label: 'name', value: r.jobName },
      { label: 'log', value: `\`${r.logPath}\`` },
      { label: 'config', value: `\`${pf.configPath}\`` },
    ],
    context: [...pf.notes],
    data: {
      submitted: true,
      jobId: r.jobId,
      jobName: r.jobName,
      logPath: r.logPath,
      configPath: pf.configPath,
      watching: channel !== null,
      ...(channel ? { channel } : {}),
    },
  };
}

/** Where updates of work started outside Slack go: NOTIFY_CHANNEL, else DIGEST_CHANNEL; `none` is nowhere. */
export function notifyChannel(cfg: Pick<Config, 'NOTIFY_CHANNEL' | 'DIGEST_CHANNEL'>): string | null {
  if (cfg.NOTIFY_CHANNEL === 'none') return null;
  return cfg.NOTIFY_CHANNEL ?? cfg.DIGEST_CHANNEL ?? null;
}

/** Preflight found problems: each names its fix, and nothing was submitted. */
function blockedReply(pf: PreflightResult): Reply {
  return {
    level: 'error',
    title: 'Preflight failed: nothing was submitted',
    text: pf.problems.map((p) => `• ${p}`).join('\n'),
    context: [...pf.notes, `Usage: ${SUBMIT_USAGE}`],
    ephemeral: true,
    data: {
      submitted: false,
      configPath: pf.configPath,
      problems: pf.problems,
      warnings: pf.warnings.map((w) => w.message),
    },
  };
}

/** Only warnings (e.g. log_interval): a "Submit anyway" button carries the request, resolved config path. */
function confirmReply(pf: PreflightResult, args: SubmitArgs): Reply {
  return {
    level: 'warn',
    title: 'Check before submitting',
    text: pf.warnings.map((w) => `• ${w.message}`).join('\n'),
    context: [...pf.notes],
    buttons: [
      {
        actionId: SUBMIT_ANYWAY_ACTION,
        label: 'Submit anyway',
        value: JSON.stringify({ ...args, config: pf.configPath }),
        style: 'primary',
      },
    ],
    data: {
      submitted: false,
      configPath: pf.configPath,
      problems: [],
      warnings: pf.warnings.map((w) => w.message),
    },
  };
}

export const trainSubmit = implementSubcommand({
  args: SubmitArgs,
  run: (args, ctx) => runSubmit(args, ctx, false),
});

/** "Submit anyway" after a warning: the arguments come back from Slack, so they are validated again. */
export const trainSubmitAnyway = implementAction({
  value: z.pipe(
    z.pipe(
      z.string().check(z.maxLength(6000)),
      z.transform((s: string, c) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          c.issues.push({ code: 'custom', message: 'not a submit request', input: s });
          return z.NEVER;
        }
      }),
    ),
    SubmitArgs,
  ),
  run: (args, ctx) => runSubmit(args, ctx, true),
});
