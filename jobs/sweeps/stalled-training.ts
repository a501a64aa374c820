import type { Redis } from 'ioredis';
import type { ClusterFiles } from '../../src/cluster/cluster-files.js';
import type { Reply } from '../../src/reply.js';
import type { Sweep } from './sweep.js';

/**
 * Running training jobs whose log stopped growing. One listing of the log directory per sweep; jobs a /train watch
 * already follows are left to it (it diagnoses stalls itself); the others are handed to it when a hand-off
 * is wired, and announced once.
 */
export function stalledTrainingSweep(deps: {
  readonly files: Pick<ClusterFiles, 'modifiedTimes'>;
  /** Slurm job ids of the training jobs running now (one squeue for all). */
  readonly running: () => Promise<readonly string[]>;
  /** `<LOGS_DIR>/training` holding `neox-training-<jobid>.out`. */
  readonly logDir: string;
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly staleMinutes?: number;
  /** True if a /train watch follows this job already (TrainingMonitor.get). */
  readonly isWatched?: (jobId: string) => Promise<boolean>;
  /** Start a /train watch for the job (TrainingMonitor.watch); when absent the sweep only reports. */
  readonly handOff?: (jobId: string, logPath: string) => Promise<void>;
  readonly expression?: string;
}): Sweep {
  const staleMin = deps.staleMinutes ?? 30;
  return {
    name: 'stalled-training',
    expression: deps.expression ?? '*/10 * * * *',
    async run(now: Date): Promise<Reply | null> {
      const jobs = await deps.running();
      if (jobs.length === 0) return null;
      const mtimes = new Map<string, number>();
      for (const [name, ms] of await deps.files.modifiedTimes(deps.logDir, 'neox-training-*.out')) {
        const m = /^neox-training-(\d+)\.out$/.exec(name);
        if (m?.[1] !== undefined) mtimes.set(m[1], ms);
      }
      const stale: { jobId: string; minutes: number; handed: boolean }[] = [];
      for (const jobId of jobs) {
        const t = mtimes.get(jobId);
        if (t === undefined) continue;
        const minutes = Math.floor((now.getTime() - t) / 60_000);
        if (minutes < staleMin) continue;
        if (deps.isWatched && (await deps.isWatched(jobId))) continue;
        const claimed = await deps.redis.set(
          `${deps.keyPrefix}sweep-stalled:${jobId}`,
          '1',
          'EX',
          7 * 86_400,
          'NX',
        );
        if (claimed !== 'OK') continue;
        let handed = false;
        if (deps.handOff) {
          await deps.handOff(jobId, `${deps.logDir}/neox-training-${jobId}.out`);
          handed = true;
        }
        stale.push({ jobId, minutes, handed });
      }
      if (stale.length === 0) return null;
      return {
        level: 'warn',
        title: `${stale.length} training job${stale.length === 1 ? '' : 's'} stopped logging`,
        text: stale
          .map(
            (s) =>
              `• job \`${s.jobId}\`: no log output for ${s.minutes} min${s.handed ? ' — now watched by /train' : ''}`,
          )
          .join('\n'),
        context: ['`/train status <job>` and `/train logs <job>` show where it stopped.'],
        data: { stalled: stale },
      };
    },
  };
}
