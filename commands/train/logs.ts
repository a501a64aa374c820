import { z } from 'zod';
import { JobId } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import type { Reply } from '../../src/reply.js';
import { trainingLogPath } from '../../src/training/submit-training.js';
import { defineSubcommand } from '../core/command.js';

const USAGE = '/train logs <jobid> [lines]';
export const MAX_LOG_LINES = 500;
/** What fits in one chat message. */
const MAX_LOG_BYTES = 32 * 1024;

export const trainLogs = defineSubcommand({
  name: 'logs',
  summary: 'The last lines of a training job’s log',
  usage: USAGE,
  help: `Shows the end of <LOGS_DIR>/training/neox-training-<jobid>.out: 50 lines by default, at most ${MAX_LOG_LINES} (and 32 KB).`,
  permission: 'read',
  positionals: ['jobId', 'lines'],
  args: z.object({
    jobId: JobId,
    lines: z.coerce
      .number({ error: 'is a number of lines' })
      .int('is a whole number of lines')
      .min(1, 'is at least 1')
      .max(MAX_LOG_LINES, `is at most ${MAX_LOG_LINES}`)
      .default(50),
  }),
  async run({ jobId, lines }, ctx): Promise<Reply> {
    const path = trainingLogPath(ctx.config.LOGS_DIR, jobId);
    const tail = await ctx.services.files.tailLog(path, lines, MAX_LOG_BYTES);
    if (tail === null) {
      throw new UserError(
        `There is no log at ${path} (yet): the job may still be pending, or the id is wrong.`,
        USAGE,
      );
    }
    const shown = tail.replace(/\n$/, '');
    const count = shown === '' ? 0 : shown.split('\n').length;
    return {
      level: 'info',
      title: `Job ${jobId}: last ${count} line(s)`,
      code: shown === '' ? '(the log is empty)' : shown,
      context: [
        `\`${path}\``,
        ...(Buffer.byteLength(tail) >= MAX_LOG_BYTES ? ['Cut to the last 32 KB.'] : []),
      ],
      data: { jobId, path, lines: count, text: tail },
    };
  },
});
