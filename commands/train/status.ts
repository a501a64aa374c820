import { JobId } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import { DIAGNOSIS } from '../../src/neox/failure-kinds.js';
import { LogScanner } from '../../src/neox/log-scanner.js';
import { lossChart, progressFields } from '../../src/neox/watch-messages.js';
import { createWatchData, type WatchData } from '../../src/neox/watch-state.js';
import type { Reply } from '../../src/reply.js';
import { trainingLogPath } from '../../src/training/submit-training.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';
import { STATUS_USAGE } from './spec.js';

/** Without a watch, status scans this much of the log's end. */
const TAIL_BYTES = 256 * 1024;

export const trainStatus = implementSubcommand({
  args: z.object({ jobId: JobId }),
  async run({ jobId }, ctx): Promise<Reply> {
    const [job, watched] = await Promise.all([
      ctx.services.slurm.job(jobId),
      ctx.services.train?.monitor.get(jobId) ?? Promise.resolve(null),
    ]);
    let d: WatchData | null = watched;
    let source = 'the bot’s watch of the log';
    if (!d) {
      const logPath = trainingLogPath(ctx.config.LOGS_DIR, jobId);
      const tail = await ctx.services.files.tailLog(logPath, 100_000, TAIL_BYTES);
      if (tail === null && !job) {
        throw new UserError(
          `Slurm does not know job ${jobId} and there is no log at ${logPath}. Check the job id.`,
          STATUS_USAGE,
        );
      }
      d = createWatchData({
        jobId,
        logPath,
        configPath: null,
        save: null,
        saveInterval: null,
        submitter: null,
        channel: 'none',
        threadTs: null,
      });
      if (tail !== null) {
        const s = new LogScanner();
        // The first line of a tail may be cut: drop it unless the tail is the whole file.
        s.feed(tail.length >= TAIL_BYTES ? tail.slice(tail.indexOf('\n') + 1) : tail);
        s.flush();
        d.scan = s.state;
        source = tail.length >= TAIL_BYTES ? 'the last 256 KB of the log' : 'the log';
      } else {
        source = 'no log yet';
      }
    }
    const state = job ? job.rawState || job.state : (d.slurmState ?? 'not in Slurm any more');
    const findings = d.scan.findings;
    return {
      level: findings.some((f) => f.action === 'escalate') ? 'error' : findings.length > 0 ? 'warn' : 'info',
      title: `Training job ${jobId}: ${state}`,
      fields: [
        { label: 'state', value: state },
        ...(job?.reason && job.state === 'PENDING' ? [{ label: 'waiting for', value: job.reason }] : []),
        ...progressFields(d),
        { label: 'log', value: `\`${d.req.logPath}\`` },
      ],
      ...(findings.length > 0
        ? {
            table: {
              columns: ['finding', 'action', 'line', 'meaning'],
              rows: findings.map((f) => [f.kind, f.action, String(f.line), DIAGNOSIS[f.kind]]),
            },
          }
        : { text: 'No failures found.' }),
      ...(d.scan.curve.length > 1 ? { chart: lossChart(d) } : {}),
      context: [`From ${source}.`],
      data: {
        jobId,
        state,
        lastIteration: d.scan.lastIteration,
        trainIters: d.scan.trainIters,
        lastLoss: d.scan.lastLoss,
        msPerIteration: d.scan.lastMsPerIteration,
        findings,
        watched: watched !== null,
      },
    };
  },
});
