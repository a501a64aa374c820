import { JobId } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import type { Reply } from '../../src/reply.js';
import { trainingLogPath } from '../../src/training/submit-training.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';
import { codeTail } from './log-excerpt.js';
import { LOGS_USAGE, MAX_LOG_BYTES, MAX_LOG_LINES } from './spec.js';

const MIB = MAX_LOG_BYTES / (1024 * 1024);

export const trainLogs = implementSubcommand({
  args: z.object({
    jobId: JobId,
    lines: z._default(
      z.coerce
        .number({ error: 'is a number of lines' })
        .check(
          z.int('is a whole number of lines'),
          z.gte(1, 'is at least 1'),
          z.lte(MAX_LOG_LINES, `is at most ${MAX_LOG_LINES}`),
        ),
      50,
    ),
  }),
  async run({ jobId, lines }, ctx): Promise<Reply> {
    const path = trainingLogPath(ctx.config.LOGS_DIR, jobId);
    const tail = await ctx.services.files.tailLines(path, lines, MAX_LOG_BYTES);
    if (tail === null) {
      throw new UserError(
        `There is no log at ${path} (yet): the job may still be pending, or the id is wrong.`,
        LOGS_USAGE,
      );
    }
    const n = tail.lines.length;
    const shown = codeTail(tail.lines);
    const all = tail.lines.join('\n');
    const attach = shown.lines < n;
    const capNote = tail.capped
      ? [`Only the last ${MIB} MiB of the log were read: ${n} whole lines of the ${lines} asked for.`]
      : [];
    return {
      level: 'info',
      title: `Job ${jobId}: last ${n} line${n === 1 ? '' : 's'}`,
      ...(attach
        ? {
            text: shown.partial
              ? `The last line alone is longer than a message: its end is shown; all ${n} line${n === 1 ? '' : 's'} attached (\`${fileName(jobId, n)}\`).`
              : `Last ${shown.lines} of ${n} lines shown; all ${n} attached (\`${fileName(jobId, n)}\`).`,
          }
        : {}),
      code: n === 0 ? '(the log is empty)' : shown.text,
      ...(attach
        ? {
            files: [
              {
                filename: fileName(jobId, n),
                title: `Job ${jobId}: last ${n} lines of ${path}`,
                content: `${all}\n`,
              },
            ],
          }
        : {}),
      context: [`\`${path}\``, ...capNote],
      data: {
        jobId,
        path,
        lines: n,
        shown: shown.lines,
        capped: tail.capped,
        text: n === 0 ? '' : `${all}\n`,
      },
    };
  },
});

const fileName = (jobId: string, n: number) => `neox-training-${jobId}-last-${n}-lines.log`;
