import { defineCommand, defineSubcommand } from '../core/command.js';
import { PERIOD_FLAGS, REPORT_USAGE } from './spec.js';

// /digest — the daily checkpoint-upload digest on demand; `chatops digest --logs <dir> … --json` offline.
// The entry is what help shows and the dispatcher checks; the schema and code are in report.ts, imported
// when it runs.
export const digestCommand = defineCommand({
  name: 'digest',
  summary: 'Checkpoint upload digest: success rate per experiment, failures by cause, models uploaded',
  usageHint: '[--since <ISO>] [--until <ISO>]',
  subcommands: [
    defineSubcommand({
      name: 'report',
      summary: 'Checkpoint upload success per experiment, failures by cause, models uploaded',
      usage: REPORT_USAGE,
      help: [
        'Counts checkpoint-pipeline runs whose log was last modified in the period (default: the last 24 h):',
        'completed / succeeded / failed / running and the success rate per experiment, failures by cause',
        '(rate limited, timeout, other) with job ids, repos uploaded, and the change against the period before.',
        'From a terminal, `chatops digest --logs <dir> --since 2026-11-27T00:00:00Z --until 2026-11-28T00:00:00Z --json`',
        'reads a local directory instead of the cluster.',
      ].join('\n'),
      permission: 'read',
      flags: { ...PERIOD_FLAGS, logs: 'string' },
      load: async () => (await import('./report.js')).digestReport,
    }),
  ],
  defaultSubcommand: 'report',
});
