import { UnixUser } from '../../src/args.js';
import type { JobInfo } from '../../src/cluster/slurm-job.js';
import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';

export const trainList = implementSubcommand({
  args: z.object({ user: z.optional(UnixUser) }),
  async run({ user }, ctx): Promise<Reply> {
    const q = await ctx.services.slurm.queueSummary(user);
    const jobs = [...q.jobs].sort(
      (a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id, 'en', { numeric: true }),
    );
    const whose = user ? ` for ${user}` : '';
    const data = { user: q.user, running: q.running, pending: q.pending, other: q.other, jobs };
    if (jobs.length === 0) {
      return { level: 'info', title: `Queue${whose}`, text: `No running or pending jobs${whose}.`, data };
    }
    return {
      level: 'info',
      title: `Queue${whose}`,
      text: `${q.running} running, ${q.pending} pending${q.other ? `, ${q.other} other` : ''}.`,
      table: {
        columns: ['job', 'name', 'user', 'state', 'time', 'nodes / reason'],
        rows: jobs.map((j) => [
          j.id,
          j.name,
          j.user,
          j.rawState || j.state,
          j.elapsedSeconds === null || j.state === 'PENDING' ? '' : formatElapsed(j.elapsedSeconds),
          j.state === 'PENDING' ? `(${j.reason ?? 'waiting'})` : (j.nodeList ?? ''),
        ]),
      },
      data,
    };
  },
});

function rank(j: JobInfo): number {
  if (j.state === 'RUNNING') return 0;
  if (j.state === 'PENDING') return 1;
  return 2;
}

/** Seconds as Slurm shows run time: `M:SS`, `H:MM:SS`, `D-HH:MM:SS`. */
export function formatElapsed(total: number): string {
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}-${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}
