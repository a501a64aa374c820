import { implementSubcommand } from '../core/command.js';
import { DigestArgs, runDigest } from '../digest/report.js';
import { DIGEST_USAGE } from './spec.js';

export const ckptDigest = implementSubcommand({
  args: DigestArgs,
  run: (args, ctx) => runDigest(args, ctx, DIGEST_USAGE),
});
