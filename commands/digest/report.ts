import { type DigestSource, defaultPeriod, LocalDirError } from '../../src/digest/digest-source.js';
import { UserError } from '../../src/errors.js';
import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { type CommandContext, implementSubcommand } from '../core/command.js';
import { REPORT_USAGE } from './spec.js';

// ISO 8601 date or date-time; Date.parse alone accepts things like "March 7" and "1".
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
export const IsoTime = z.pipe(
  z.string().check(
    z.maxLength(64, 'is too long for a time'),
    z.refine(
      (s) => ISO.test(s) && !Number.isNaN(Date.parse(s)),
      'must be an ISO 8601 time such as 2026-11-28T09:00:00Z',
    ),
  ),
  z.transform((s: string) => new Date(s)),
);

export const DigestArgs = z.object({
  since: z.optional(IsoTime),
  until: z.optional(IsoTime),
});

/** Shared by `/digest` and `/ckpt digest`: pick the source, check the period, build the report. */
export async function runDigest(
  args: { since?: Date | undefined; until?: Date | undefined; logs?: string | undefined },
  ctx: CommandContext,
  usage: string,
): Promise<Reply> {
  const period = defaultPeriod(ctx.now(), args.since, args.until);
  if (period.since.getTime() >= period.until.getTime()) {
    throw new UserError(
      `--since (${period.since.toISOString()}) must be before --until (${period.until.toISOString()}).`,
      usage,
    );
  }
  let source: DigestSource;
  if (args.logs !== undefined) {
    if (ctx.source !== 'cli') {
      throw new UserError(
        '--logs reads a directory on the machine running the command: use it from the CLI.',
        usage,
      );
    }
    try {
      source = await ctx.services.digest.local(args.logs);
    } catch (e) {
      if (e instanceof LocalDirError)
        throw new UserError(`${e.message}: give --logs the checkpoint_pipeline log directory.`, usage);
      throw e;
    }
  } else {
    source = ctx.services.digest.cluster;
  }
  ctx.audit.note('logDir', source.dir);
  const report = await source.report(period, { trend: false });
  return report.reply;
}

export const digestReport = implementSubcommand({
  args: z.extend(DigestArgs, {
    logs: z.optional(
      z.string().check(
        z.minLength(1),
        z.maxLength(4096, 'is too long for a path'),
        // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
        z.refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters'),
      ),
    ),
  }),
  run: (args, ctx) => runDigest(args, ctx, REPORT_USAGE),
});
