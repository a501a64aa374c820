import type { Reply } from '../../src/reply.js';
import * as z from '../../src/zod.js';
import { implementSubcommand } from '../core/command.js';

export const ckptQueue = implementSubcommand({
  args: z.object({}),
  async run(_args, ctx): Promise<Reply> {
    const { uploads } = ctx.services;
    const o = await uploads.queue.overview();
    const now = ctx.now().getTime();
    const pause = o.pause
      ? `paused until ${new Date(o.pause.until).toISOString()} (${Math.ceil((o.pause.until - now) / 1000)} s more): ${o.pause.reason}`
      : 'not paused';
    return {
      level: o.pause || o.counts.failed > 0 ? 'warn' : 'info',
      title: 'Checkpoint upload queue',
      fields: [
        { label: 'waiting', value: String(o.counts.waiting) },
        { label: 'delayed', value: String(o.counts.delayed) },
        { label: 'running', value: String(o.counts.active) },
        { label: 'failed', value: String(o.counts.failed) },
        { label: 'Hub pause', value: pause },
        {
          label: 'commit budget',
          value: `${o.budget.used}/${o.budget.limit} in the last ${Math.round(o.budget.windowMs / 1000)} s`,
        },
      ],
      ...(o.jobs.length > 0
        ? {
            table: {
              columns: ['upload', 'state', 'detail'],
              rows: o.jobs.map((j) => [
                j.id,
                j.state === 'active' ? 'running' : j.state,
                (j.state === 'failed'
                  ? (j.failedReason ?? '')
                  : [
                      j.data.slurmJobId ? `Slurm job ${j.data.slurmJobId}` : '',
                      j.data.waitingFor ?? '',
                      j.due ? `due ${new Date(j.due).toISOString().slice(11, 19)} UTC` : '',
                    ]
                      .filter(Boolean)
                      .join(' · ')
                ).slice(0, 300),
              ]),
            },
          }
        : {}),
      data: {
        counts: o.counts,
        pause: o.pause,
        budget: o.budget,
        jobs: o.jobs.map(({ data, ...j }) => ({ ...j, data })),
      },
    };
  },
});
