import { defineSubcommand } from '../core/command.js';
import { DigestArgs, runDigest } from '../digest/report.js';

const USAGE = '/ckpt digest [--since <ISO>] [--until <ISO>]';

export const ckptDigest = defineSubcommand({
  name: 'digest',
  summary: 'Upload success digest for the last 24 h (or --since/--until)',
  usage: USAGE,
  help: [
    'The daily digest on demand: per experiment completed / succeeded / failed / running and success rate,',
    'failures by cause with job ids and the telling log line, models uploaded, change vs the period before.',
    'Example: `/ckpt digest --since 2026-11-27T09:00:00Z`',
  ].join('\n'),
  permission: 'read',
  flags: { since: 'string', until: 'string' },
  args: DigestArgs,
  run: (args, ctx) => runDigest(args, ctx, USAGE),
});
