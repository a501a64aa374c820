import { checkpointRoot } from '../../src/cluster/checkpoint-files.js';
import { countByExperiment } from '../../src/pipeline/checkpoint-inventory.js';
import { errorReply, type Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';

export const ckptList = implementSubcommand({
  args: z.object({}),
  async run(_args, ctx): Promise<Reply> {
    const base = checkpointRoot(ctx.config.CHECKPOINTS_BASE_DIR);
    // One remote command for the whole tree, however many experiments there are.
    const tree = await ctx.services.checkpoints.list(base);
    if (tree.kind === 'missing-base') {
      return errorReply(
        `The checkpoint root ${base} does not exist on the cluster. Check CHECKPOINTS_BASE_DIR: checkpoints ` +
          'live at {base_dir}/{experiment_name}/global_step{N}/, and the usual root is ' +
          '/projects/a5k/public/checkpoints/sf_model_organisms/ (a common mistake is leaving off sf_model_organisms/).',
      );
    }
    const experiments = countByExperiment(tree.checkpoints);
    const total = experiments.reduce((n, e) => n + e.checkpoints, 0);
    const warnings =
      tree.exitCode !== 0
        ? [`find reported problems (exit ${tree.exitCode}); the list may be incomplete`]
        : [];
    const data = { base, experiments, totalCheckpoints: total };
    if (experiments.length === 0) {
      return {
        level: 'info',
        title: 'Checkpoints',
        text: `No global_step* checkpoints under ${base}.`,
        data,
      };
    }
    return {
      level: warnings.length > 0 ? 'warn' : 'info',
      title: 'Checkpoints',
      text: `${experiments.length} experiments, ${total} checkpoints under \`${base}\`.`,
      table: {
        columns: ['experiment', 'checkpoints', 'latest step'],
        rows: experiments.map((e) => [e.name, String(e.checkpoints), String(e.latestStep)]),
      },
      context: warnings,
      data,
    };
  },
});
