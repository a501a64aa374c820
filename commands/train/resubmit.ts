import { posix } from 'node:path';
import { JobId } from '../../src/args.js';
import { UserError } from '../../src/errors.js';
import { MAX_CONFIG_BYTES } from '../../src/neox/preflight.js';
import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { implementAction } from '../core/command.js';
import { runSubmit } from './submit.js';

// "Resubmit with this fix" from an auto-fix diagnosis. The original config is never edited: a fix is
// written to a new file beside it (`<name>.resume-<N>.yml`) that the person can read, and that is submitted.

const Value = z.pipe(
  z.string().check(z.maxLength(200), z.regex(/^\d{1,12}(?: iteration=\d{1,9})?$/, 'not a resubmit request')),
  z.transform((s: string) => {
    const [jobId, fix] = s.split(' ');
    return { jobId: JobId.parse(jobId), iteration: fix ? Number(fix.slice('iteration='.length)) : null };
  }),
);

/** Set `iteration:` in the config text (YAML or the JSON-ish NeoX style), keeping everything else. */
export function withIteration(text: string, iteration: number): string {
  const re = /^(\s*["']?iteration["']?\s*:\s*)\d+/m;
  if (re.test(text)) return text.replace(re, `$1${iteration}`);
  const trimmed = text.trimEnd();
  if (trimmed.endsWith('}')) {
    // JSON-style config: add the key inside the closing brace.
    const i = trimmed.lastIndexOf('}');
    const before = trimmed.slice(0, i).trimEnd();
    const sep = before.endsWith(',') || before.endsWith('{') ? '' : ',';
    return `${before}${sep}\n  "iteration": ${iteration}\n}\n`;
  }
  return `${trimmed}\n# added by chatops resubmit: resume from the newest checkpoint\niteration: ${iteration}\n`;
}

export const trainResubmitAction = implementAction({
  value: Value,
  async run({ jobId, iteration }, ctx): Promise<Reply> {
    const watch = await ctx.services.train?.monitor.get(jobId);
    if (!watch?.req.configPath)
      throw new UserError(`The bot has no record of job ${jobId}'s config: submit again with /train submit.`);
    let config = watch.req.configPath;
    if (iteration !== null) {
      const files = ctx.services.files;
      const fixed = withIteration(await files.readText(config, MAX_CONFIG_BYTES), iteration);
      const dir = posix.dirname(config);
      const base = posix.basename(config).replace(/\.(?:ya?ml|json)$/i, '');
      config = posix.join(dir, `${base}.resume-${iteration}.yml`);
      await files.writeText(config, fixed);
    }
    const reply = await runSubmit({ config }, ctx, false);
    return iteration === null
      ? reply
      : {
          ...reply,
          context: [
            ...(reply.context ?? []),
            `The fix is in a new file, \`${config}\` (iteration: ${iteration}); the original config is unchanged.`,
          ],
        };
  },
});
