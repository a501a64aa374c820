import { defineCommand } from '../core/command.js';
import { digestReport } from './report.js';

// /digest — the daily checkpoint-upload digest on demand; `chatops digest --logs <dir> … --json` offline.
export const digestCommand = defineCommand({
  name: 'digest',
  summary: 'Checkpoint upload digest: success rate per experiment, failures by cause, models uploaded',
  usageHint: '[--since <ISO>] [--until <ISO>]',
  subcommands: [digestReport],
  defaultSubcommand: 'report',
});
