import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipelineLogPath } from '../jobs/pipeline-run-names.js';
import { startUploadWorker } from '../src/app/upload-worker.js';
import { parsePipelineLog } from '../src/pipeline/pipeline-log.js';
import { startTestbed } from '../src/sandbox/testbed.js';
import type { PipelineCluster } from '../src/uploads/pipeline-cluster.js';
import { UPLOAD_QUEUE, type UploadJobData } from '../src/uploads/upload-job.js';
import { DEFAULT_UPLOAD_SETTINGS } from '../src/uploads/upload-settings.js';
import {
  createUploadEnv,
  FAKE_PIPELINE_SBATCH,
  quietLogger,
  type UploadEnv,
} from '../test/helpers/fake-hub-env.js';

// npm run bench -- uploads
// 60 checkpoints over 6 experiments against a Hub that accepts LIMIT commits per WINDOW (time-compressed:
// the real Hub's 5-minute windows become WINDOW_MS). Three strategies on the same fake Hub and real Slurm:
//   queue          this project's BullMQ queue: commit budget, 429 → pause + retry (--no-singleton: the
//                  budget does the pacing the per-experiment lock stood in for)
//   parallelRetry  the hand-run way: every checkpoint submitted at once, the pipeline retrying 429s itself
//                  (--max-retries 20 --retry-min-wait 120 --retry-max-wait 3600, scaled like the window)
//   singleton      the hand-run way with sbatch --dependency=singleton per experiment, same retries
// ideal = checkpoints ÷ (LIMIT / WINDOW).
// Then the reaction: REACTION_PER checkpoints of each of two experiments, serialised per experiment, with
// the production squeue poll (DEFAULT_UPLOAD_SETTINGS.pollMs) and a Hub that never refuses: reactionS is
// the median time from a run's end (its log's last write, the completion line) to the next submission in
// the same experiment; reactionSPollOnly the same with the watcher's log end check taken away.
// BENCH_ONLY=queue runs the queue alone, BENCH_ONLY=reaction the reaction alone. Ends with one RESULT line.

const EXPERIMENTS = 6;
const PER_EXPERIMENT = 10;
// The Hub, not this 2-core test machine, must be the bottleneck: a few pipeline runs per window.
const LIMIT = Number(process.env.BENCH_LIMIT ?? 6);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 30_000);
/** 5 min → WINDOW_MS: the hand-run scripts' retry waits scaled the same way. */
const SCALE = WINDOW_MS / 300_000;
const RETRY = { max: 20, minS: 120 * SCALE, maxS: 3600 * SCALE };

interface Outcome {
  readonly makespanS: number;
  readonly failed: number;
  readonly hub429: number;
  readonly commits: number;
}

const experiments = Array.from({ length: EXPERIMENTS }, (_, i) => `bench-exp-${i + 1}`);
const steps = Array.from({ length: PER_EXPERIMENT }, (_, i) => (i + 1) * 1000);

async function prepare(env: UploadEnv): Promise<void> {
  for (const e of experiments) await env.makeCheckpoints(e, steps, 4096);
}

async function logOutcomes(env: UploadEnv): Promise<{ failed: number; succeeded: number }> {
  const dir = join(env.logsDir, 'checkpoint_pipeline');
  let failed = 0;
  let succeeded = 0;
  for (const f of await readdir(dir)) {
    const run = parsePipelineLog(await readFile(join(dir, f), 'utf8'));
    if (run.outcome === 'succeeded') succeeded++;
    else failed++;
  }
  return { failed, succeeded };
}

async function runQueue(env: UploadEnv): Promise<Outcome> {
  const t0 = Date.now();
  for (const experiment of experiments) {
    await env.service.enqueue({
      steps,
      template: {
        experiment,
        org: 'bench-org',
        skipNeoxUpload: true,
        uploadNeoxOnly: false,
        eval: false,
        // The budget paces the Hub; a per-experiment lock would only cap throughput at 6 runs at a time.
        singleton: false,
        maxRetries: RETRY.max,
        retryMinWaitS: RETRY.minS,
        retryMaxWaitS: RETRY.maxS,
        batchId: 'bench',
        requestedBy: 'bench',
      },
    });
  }
  await env.startWorker();
  await env.drained(1_800_000);
  const makespanS = (Date.now() - t0) / 1000;
  const counts = await env.service.queue.getJobCounts('completed', 'failed');
  const s = env.hub.stats();
  return { makespanS, failed: counts.failed ?? 0, hub429: s.rejected, commits: s.commits };
}

/** The team's batch_submit_checkpoints.sh: one sbatch per checkpoint, retries inside the run. */
async function runBatchScript(env: UploadEnv, singleton: boolean): Promise<Outcome> {
  const t0 = Date.now();
  const ids: string[] = [];
  for (const experiment of experiments) {
    for (const step of steps) {
      const r = await env.slurm.submit({
        script: FAKE_PIPELINE_SBATCH,
        args: [
          experiment,
          String(step),
          '--skip-eval',
          'bench-org',
          '--max-retries',
          String(RETRY.max),
          '--retry-min-wait',
          String(RETRY.minS),
          '--retry-max-wait',
          String(RETRY.maxS),
        ],
        jobName: singleton ? `convert_${experiment}` : `convert_${experiment}_${step}`,
        ...(singleton ? { dependency: 'singleton' as const } : {}),
        export: {
          ...env.pipelineEnv,
          CHECKPOINTS_BASE_DIR: env.checkpointsBaseDir,
          SKIP_NEOX_UPLOAD: '1',
        },
        output: pipelineLogPath(env.logsDir, '%j'),
      });
      ids.push(r.jobId);
    }
  }
  for (;;) {
    const live = await env.cluster.states(ids);
    if (live.size === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const makespanS = (Date.now() - t0) / 1000;
  const { failed } = await logOutcomes(env);
  const s = env.hub.stats();
  return { makespanS, failed, hub429: s.rejected, commits: s.commits };
}

const REACTION_PER = Number(process.env.BENCH_REACTION_PER ?? 6);

interface Reaction {
  readonly reactionS: number | null;
  readonly samples: number;
  readonly makespanS: number;
}

/** Serialised uploads of two experiments; `endCheck: false` leaves the watcher only its squeue poll. */
async function runReaction(
  tb: Awaited<ReturnType<typeof startTestbed>>,
  endCheck: boolean,
): Promise<Reaction> {
  const env = await createUploadEnv(tb.info, {
    hub: { limit: 10_000, windowMs: WINDOW_MS },
    settings: { pollMs: DEFAULT_UPLOAD_SETTINGS.pollMs, concurrency: 4, lockRecheckMs: 120_000 },
    workMs: 200,
  });
  const exps = ['react-a', 'react-b'];
  const rsteps = Array.from({ length: REACTION_PER }, (_, i) => (i + 1) * 10);
  try {
    for (const e of exps) await env.makeCheckpoints(e, rsteps, 4096);
    const t0 = Date.now();
    for (const experiment of exps) {
      await env.service.enqueue({
        steps: rsteps,
        template: {
          experiment,
          org: 'bench-org',
          skipNeoxUpload: true,
          uploadNeoxOnly: false,
          eval: false,
          singleton: true,
          maxRetries: 0,
          retryMinWaitS: 1,
          retryMaxWaitS: 10,
          batchId: 'bench-reaction',
          requestedBy: 'bench',
        },
      });
    }
    const c = env.cluster;
    const cluster: PipelineCluster = endCheck
      ? c
      : {
          submit: (x) => c.submit(x),
          findSubmitted: (n, m) => c.findSubmitted(n, m),
          recentRuns: (d, t) => c.recentRuns(d, t),
          states: (ids) => c.states(ids),
          readLog: (p) => c.readLog(p),
        };
    const worker = await startUploadWorker({
      factory: env.factory,
      cluster,
      pipeline: {
        script: FAKE_PIPELINE_SBATCH,
        checkpointsBaseDir: env.checkpointsBaseDir,
        logsDir: env.logsDir,
        env: env.pipelineEnv,
      },
      settings: env.settings,
      log: quietLogger,
    });
    try {
      await env.drained(1_800_000);
    } finally {
      await worker.close(0);
    }
    const makespanS = (Date.now() - t0) / 1000;
    const jobs = await env.factory.queue<UploadJobData>(UPLOAD_QUEUE).getJobs(['completed', 'failed']);
    const samples: number[] = [];
    for (const e of exps) {
      const runs = jobs
        .filter((j) => j.data.experiment === e)
        .flatMap((j) => j.data.runs)
        .sort((a, b) => a.submittedAt - b.submittedAt);
      for (let i = 0; i + 1 < runs.length; i++) {
        const prev = runs[i];
        const next = runs[i + 1];
        if (!prev || !next) continue;
        const log = pipelineLogPath(env.logsDir, prev.slurmJobId);
        if (!/Pipeline completed at .* with exit code/.test(await readFile(log, 'utf8'))) continue;
        samples.push((next.submittedAt - (await stat(log)).mtimeMs) / 1000);
      }
    }
    const o = { reactionS: median(samples), samples: samples.length, makespanS };
    console.error(`[uploads] reaction${endCheck ? '' : ' (squeue poll only)'}: ${JSON.stringify(o)}`);
    return o;
  } finally {
    await env.close();
  }
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const v = s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  return Number(v.toFixed(2));
}

async function strategy(
  tb: Awaited<ReturnType<typeof startTestbed>>,
  name: string,
  run: (env: UploadEnv) => Promise<Outcome>,
): Promise<Outcome> {
  const env = await createUploadEnv(tb.info, {
    hub: { limit: LIMIT, windowMs: WINDOW_MS },
    settings: {
      // A batch admitted at a window's start may still run when the next one is admitted.
      concurrency: 2 * LIMIT,
      budget: { limit: LIMIT, windowMs: WINDOW_MS, marginMs: Number(process.env.BENCH_MARGIN_MS ?? 1_000) },
      pollMs: 250,
      lockRecheckMs: 2_000,
      jitterMs: 100,
    },
    workMs: 200,
  });
  try {
    await prepare(env);
    const o = await run(env);
    console.error(`[uploads] ${name}: ${JSON.stringify(o)}`);
    return o;
  } finally {
    await env.close();
  }
}

export default async function main(): Promise<void> {
  // Ctrl-C must still stop the testbed's daemons (they are stopped from an 'exit' handler).
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const tb = await startTestbed({ ssh: false });
  try {
    const checkpoints = EXPERIMENTS * PER_EXPERIMENT;
    const idealS = checkpoints / (LIMIT / (WINDOW_MS / 1000));
    const only = process.env.BENCH_ONLY;
    const throughput = only !== 'reaction';
    const baselines = only === undefined || only === '';
    const queue = throughput ? await strategy(tb, 'queue', runQueue) : null;
    const parallelRetry = baselines
      ? await strategy(tb, 'parallelRetry', (env) => runBatchScript(env, false))
      : null;
    const singleton = baselines ? await strategy(tb, 'singleton', (env) => runBatchScript(env, true)) : null;
    const reaction = only === 'queue' ? null : await runReaction(tb, true);
    const pollOnly = only === 'queue' ? null : await runReaction(tb, false);
    const ratio = (o: Outcome) => Number((o.makespanS / idealS).toFixed(3));
    const base = (o: Outcome | null) =>
      o
        ? {
            makespanOverIdeal: ratio(o),
            failed: o.failed,
            hub429: o.hub429,
            makespanS: Number(o.makespanS.toFixed(1)),
          }
        : null;
    console.log(
      `RESULT ${JSON.stringify({
        checkpoints,
        idealS,
        makespanS: queue ? Number(queue.makespanS.toFixed(1)) : null,
        makespanOverIdeal: queue ? ratio(queue) : null,
        failed: queue?.failed ?? null,
        hub429: queue?.hub429 ?? null,
        reactionS: reaction?.reactionS ?? null,
        reactionSPollOnly: pollOnly?.reactionS ?? null,
        reactionSamples: reaction?.samples ?? null,
        baselines: { parallelRetry: base(parallelRetry), singleton: base(singleton) },
      })}`,
    );
  } finally {
    await tb.stop();
  }
}
