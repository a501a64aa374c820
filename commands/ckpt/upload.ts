import { ExperimentName, HfOrg, Step } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import { cannotPostHere } from '../../src/messenger.js';
import type { Reply } from '../../src/reply.js';
import { checkpointStatus } from '../../src/uploads/checkpoint-status.js';
import type { UploadQueueService } from '../../src/uploads/upload-queue-service.js';
import * as z from '../../src/zod.js';
import { type CommandContext, implementSubcommand } from '../core/command.js';
import { UPLOAD_USAGE } from './spec.js';
import { missingExperimentReply } from './status.js';

/** `--upload-delay random`: a start spread over 0–12 h, as the team's batch script does. */
const RANDOM_DELAY_MAX_S = 12 * 3600;

const seconds = (what: string, max: number) =>
  z.coerce
    .number({ error: `${what} is a number of seconds` })
    .check(
      z.positive(`${what} must be more than 0 seconds`),
      z.lte(max, `${what} is at most ${max} seconds`),
    );

// zod/mini's transform gets the parse payload, not classic's context with addIssue: a problem is pushed onto
// its issues (with the input, as addIssue would record it).
const StepList = z.pipe(
  z.string().check(z.maxLength(20_000, 'too many steps')),
  z.transform((s: string, ctx) => {
    const words = s.split(',').map((w) => w.trim().replace(/^global_step/, ''));
    const out: number[] = [];
    for (const w of words) {
      const r = Step.safeParse(w);
      if (w === '' || !r.success) {
        ctx.issues.push({
          code: 'custom',
          message: `--steps takes step numbers like 100,200 (got "${w.slice(0, 40)}")`,
          input: s,
        });
        return z.NEVER;
      }
      out.push(r.data);
    }
    return [...new Set(out)].sort((a, b) => a - b);
  }),
);

const UploadDelay = z.pipe(
  z.string(),
  z.transform((s: string, ctx): 'random' | number => {
    if (s === 'random') return 'random';
    const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isFinite(n) || n > 7 * 24 * 3600) {
      ctx.issues.push({
        code: 'custom',
        message: `--upload-delay takes seconds (at most 7 days) or "random" (got "${s.slice(0, 40)}")`,
        input: s,
      });
      return z.NEVER;
    }
    return n;
  }),
);

export const UploadArgs = z
  .object({
    experiment: ExperimentName,
    org: z.optional(HfOrg),
    steps: z.optional(StepList),
    all: z._default(z.boolean(), false),
    missing: z._default(z.boolean(), false),
    skipNeoxUpload: z._default(z.boolean(), false),
    uploadNeoxOnly: z._default(z.boolean(), false),
    eval: z._default(z.boolean(), false),
    noSingleton: z._default(z.boolean(), false),
    uploadDelay: z.optional(UploadDelay),
    maxRetries: z._default(
      z.coerce
        .number({ error: '--max-retries is a whole number' })
        .check(
          z.int('--max-retries is a whole number'),
          z.gte(0, '--max-retries cannot be negative'),
          z.lte(100, '--max-retries is at most 100'),
        ),
      20,
    ),
    retryMinWait: z._default(seconds('--retry-min-wait', 86_400), 120),
    retryMaxWait: z._default(seconds('--retry-max-wait', 7 * 86_400), 3600),
  })
  .check(
    z.refine((a) => [a.steps !== undefined, a.all, a.missing].filter(Boolean).length <= 1, {
      message: 'give at most one of --steps, --all and --missing',
    }),
    z.refine((a) => !(a.skipNeoxUpload && a.uploadNeoxOnly), {
      message: '--skip-neox-upload and --upload-neox-only together would upload nothing',
    }),
    z.refine((a) => a.retryMinWait <= a.retryMaxWait, {
      message: '--retry-min-wait must not exceed --retry-max-wait',
    }),
  );

export const ckptUpload = implementSubcommand({
  args: UploadArgs,
  async run(args, ctx): Promise<Reply> {
    const org = args.org ?? ctx.config.HF_ORG;
    if (!org)
      throw new UserError('No Hub organisation: give one after the experiment, or set HF_ORG.', UPLOAD_USAGE);
    const steps = await selectSteps(args, ctx);
    if (!Array.isArray(steps)) return steps;
    if (steps.length === 0) {
      return {
        level: 'info',
        text: `Nothing to upload for \`${args.experiment}\`: every checkpoint is uploaded, queued or running (\`/ckpt status ${args.experiment}\`).`,
        data: { experiment: args.experiment, added: [], existing: [] },
      };
    }
    const { uploads, messenger } = ctx.services;
    // The progress message goes to this channel: know it can before queueing anything.
    if (ctx.channel && messenger.reach) {
      const r = await messenger.reach(ctx.channel);
      if (!r.ok) {
        return {
          level: 'error',
          text: cannotPostHere(r.reason),
          ephemeral: true,
          data: { experiment: args.experiment, added: [], error: 'cannot_post_here', reason: r.reason },
        };
      }
    }
    const batchId = `${args.experiment}-${ctx.now().getTime().toString(36)}`;
    const delay = args.uploadDelay;
    const result = await uploads.queue.enqueue({
      steps,
      template: {
        experiment: args.experiment,
        org,
        skipNeoxUpload: args.skipNeoxUpload,
        uploadNeoxOnly: args.uploadNeoxOnly,
        eval: args.eval,
        singleton: !args.noSingleton,
        maxRetries: args.maxRetries,
        retryMinWaitS: args.retryMinWait,
        retryMaxWaitS: args.retryMaxWait,
        batchId,
        requestedBy: ctx.user.id,
      },
      ...(delay === undefined
        ? {}
        : { delayMs: () => (delay === 'random' ? Math.random() * RANDOM_DELAY_MAX_S : delay) * 1000 }),
    });
    ctx.audit.note('experiment', args.experiment);
    ctx.audit.note('queued', result.added.length);

    let thread: string | null = null;
    let progressProblem: string | null = null;
    if (result.added.length > 0 && ctx.channel) {
      // The uploads are queued whatever happens here: a message that cannot be posted must not say otherwise.
      try {
        const posted = await uploads.batches.start({
          batchId,
          channel: ctx.channel,
          experiment: args.experiment,
          steps: result.added,
          requestedBy: ctx.user.id,
        });
        thread = posted.ts;
      } catch (e) {
        progressProblem = e instanceof Error ? e.message : String(e);
      }
    }
    return {
      level: result.added.length > 0 ? (progressProblem ? 'warn' : 'ok') : 'info',
      text: [
        ...queuedLines(args.experiment, org, result, thread !== null),
        ...(progressProblem
          ? [
              `The uploads go ahead, but the progress message could not be posted (${progressProblem}): follow them with \`/ckpt status ${args.experiment}\` and \`/ckpt queue\`.`,
            ]
          : []),
      ].join('\n'),
      data: { experiment: args.experiment, org, batchId, added: result.added, existing: result.existing },
    };
  },
});

/**
 * Which steps to queue: `--steps` (each must exist), `--all`, or by default the ones with no upload or a
 * failed one. A missing experiment answers with the nearest names instead.
 */
async function selectSteps(
  args: z.output<typeof UploadArgs>,
  ctx: CommandContext,
): Promise<number[] | Reply> {
  const base = ctx.config.CHECKPOINTS_BASE_DIR;
  const { checkpoints, digest, uploads } = ctx.services;
  if (!args.steps && !args.all) {
    const st = await checkpointStatus(
      { checkpoints, checkpointsBaseDir: base, logs: digest.cluster, uploads: uploads.queue },
      args.experiment,
    );
    if (st.kind !== 'ok') return missingExperimentReply(st, args.experiment);
    return st.checkpoints.filter((c) => c.state === 'none' || c.state === 'failed').map((c) => c.step);
  }
  const listing = await checkpoints.sizes(base, args.experiment);
  if (listing.kind !== 'ok') {
    const st = await checkpointStatus({ checkpoints, checkpointsBaseDir: base }, args.experiment);
    if (st.kind !== 'ok') return missingExperimentReply(st, args.experiment);
    throw new UserError(`Cannot list the checkpoints of ${args.experiment}.`, UPLOAD_USAGE);
  }
  const have = new Set(listing.checkpoints.map((c) => c.step));
  if (!args.steps) return [...have].sort((a, b) => a - b);
  const absent = args.steps.filter((s) => !have.has(s));
  if (absent.length > 0) {
    throw new UserError(
      `No global_step${absent[0]} in ${base}/${args.experiment}` +
        `${absent.length > 1 ? ` (nor ${absent.slice(1, 6).join(', ')}${absent.length > 6 ? ', …' : ''})` : ''}. ` +
        `It has steps ${[...have].slice(0, 20).join(', ') || 'none'}${have.size > 20 ? ', …' : ''}.`,
      UPLOAD_USAGE,
    );
  }
  return args.steps;
}

function queuedLines(
  experiment: string,
  org: string,
  result: Awaited<ReturnType<UploadQueueService['enqueue']>>,
  threaded: boolean,
): string[] {
  const existing = result.existing.map((e) => `${e.step} (${e.state === 'active' ? 'running' : e.state})`);
  return [
    result.added.length > 0
      ? `Queued ${result.added.length} upload${result.added.length === 1 ? '' : 's'} of \`${experiment}\` to ${org}: steps ${result.added.join(', ')}.`
      : `Nothing new queued for \`${experiment}\`.`,
    ...(existing.length > 0
      ? [
          `Already in the queue: ${existing.slice(0, 30).join(', ')}${existing.length > 30 ? ', …' : ''}` +
            (result.existing.some((e) => e.state === 'failed')
              ? ` — \`/ckpt retry ${experiment}\` re-queues failed ones.`
              : '.'),
        ]
      : []),
    ...(threaded ? ['Progress is kept up to date in one message and its thread.'] : []),
  ];
}
