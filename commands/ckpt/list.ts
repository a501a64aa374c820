import { z } from 'zod';
import { errorReply, type Reply } from '../../src/reply.js';
import { defineSubcommand } from '../core/command.js';

export interface ExperimentCheckpoints {
  readonly name: string;
  readonly checkpoints: number;
  readonly latestStep: number;
}

/** `find … -printf '%P\n'` output (`<experiment>/global_step<N>` per line) → per-experiment counts. */
export function parseCheckpointListing(stdout: string): ExperimentCheckpoints[] {
  const byExp = new Map<string, { checkpoints: number; latestStep: number }>();
  for (const line of stdout.split('\n')) {
    const m = /^([^/]+)\/global_step(\d+)$/.exec(line.trim());
    if (!m) continue;
    const [, name, step] = m as unknown as [string, string, string];
    const e = byExp.get(name) ?? { checkpoints: 0, latestStep: 0 };
    e.checkpoints++;
    e.latestStep = Math.max(e.latestStep, Number(step));
    byExp.set(name, e);
  }
  return [...byExp.entries()]
    .map(([name, e]) => ({ name, ...e }))
    .sort((a, b) => b.checkpoints - a.checkpoints || a.name.localeCompare(b.name));
}

export const ckptList = defineSubcommand({
  name: 'list',
  summary: 'Experiments under the checkpoint root, with how many global_step* checkpoints each has',
  usage: '/ckpt list',
  help: [
    'Lists every experiment directory under CHECKPOINTS_BASE_DIR that holds `global_step*` checkpoints,',
    'most checkpoints first, with the latest step. `/ckpt status <experiment>` shows one in detail.',
  ].join('\n'),
  permission: 'read',
  args: z.object({}),
  async run(_args, ctx): Promise<Reply> {
    const base = ctx.config.CHECKPOINTS_BASE_DIR.replace(/\/+$/, '') || '/';
    // One remote command for the whole tree, however many experiments there are.
    const argv = ['find', base, '-mindepth', '2', '-maxdepth', '2', '-type', 'd', '-name', 'global_step*'];
    const r = await ctx.services.transport.run([...argv, '-printf', '%P\\n'], { timeoutMs: 60_000 });
    const experiments = parseCheckpointListing(r.stdout);
    const missing =
      r.exitCode !== 0 && /No such file or directory/.test(r.stderr) && experiments.length === 0;
    if (missing) {
      return errorReply(
        `The checkpoint root ${base} does not exist on the cluster. Check CHECKPOINTS_BASE_DIR: checkpoints ` +
          'live at {base_dir}/{experiment_name}/global_step{N}/, and the usual root is ' +
          '/projects/a5k/public/checkpoints/sf_model_organisms/ (a common mistake is leaving off sf_model_organisms/).',
      );
    }
    const total = experiments.reduce((n, e) => n + e.checkpoints, 0);
    const warnings =
      r.exitCode !== 0 ? [`find reported problems (exit ${r.exitCode}); the list may be incomplete`] : [];
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
