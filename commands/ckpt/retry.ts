import { ExperimentName } from '../../src/args.js';
import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';

export const ckptRetry = implementSubcommand({
  args: z.object({ experiment: ExperimentName }),
  async run(args, ctx): Promise<Reply> {
    const { uploads } = ctx.services;
    const steps = await uploads.queue.retryFailed(args.experiment);
    ctx.audit.note('retried', steps.length);
    if (steps.length === 0) {
      return {
        level: 'info',
        text: `No failed uploads of \`${args.experiment}\` in the queue.`,
        data: { experiment: args.experiment, retried: [] },
      };
    }
    return {
      level: 'ok',
      text: `Re-queued ${steps.length} failed upload${steps.length === 1 ? '' : 's'} of \`${args.experiment}\`: steps ${steps.join(', ')}.`,
      data: { experiment: args.experiment, retried: steps },
    };
  },
});
