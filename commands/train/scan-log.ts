import { UserError } from '../../src/errors.js';
import { DIAGNOSIS } from '../../src/neox/failure-kinds.js';
import type { ScanLogResult } from '../../src/neox/scan-log.js';
import type { Reply } from '../../src/reply.js';
import { LogFileError } from '../../src/training/scan-log-file.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';
import { SCAN_LOG_USAGE } from './spec.js';

// Offline: reads a file on the machine running the CLI. `--json` prints the shape of docs/json-contracts.md.
export const trainScanLog = implementSubcommand({
  args: z.object({
    file: z
      .string({ error: 'give the log file to scan' })
      .check(z.minLength(1, 'give the log file to scan'), z.maxLength(4096, 'is too long for a path')),
  }),
  async run({ file }, ctx): Promise<Reply> {
    if (ctx.source !== 'cli')
      throw new UserError('scan-log reads a local file: run it from the CLI.', SCAN_LOG_USAGE);
    let result: ScanLogResult;
    try {
      result = await ctx.services.train.scanLogFile(file);
    } catch (e) {
      if (e instanceof LogFileError)
        throw new UserError(`${e.message}: give the path of a training log file.`, SCAN_LOG_USAGE);
      throw e;
    }
    const progress =
      result.lastIteration === null
        ? 'no iteration line'
        : `iteration ${result.lastIteration}${result.trainIters !== null ? ` of ${result.trainIters}` : ''}`;
    return {
      level: result.findings.length === 0 ? 'ok' : 'warn',
      title: `Log scan: ${file}`,
      text:
        result.findings.length === 0
          ? `No findings; ${progress}.`
          : `${result.findings.length} finding(s); ${progress}.`,
      fields: [
        { label: 'last iteration', value: progress },
        { label: 'iteration lines', value: String(result.iterationsLogged) },
        { label: 'last loss', value: result.lastLoss === null ? '—' : String(result.lastLoss) },
      ],
      ...(result.findings.length > 0
        ? {
            table: {
              columns: ['kind', 'action', 'line', 'what it means', 'excerpt'],
              rows: result.findings.map((f) => [
                f.kind,
                f.action,
                String(f.line),
                DIAGNOSIS[f.kind],
                f.excerpt.split('\n').at(-1) ?? '',
              ]),
            },
          }
        : {}),
      data: result,
    };
  },
});
