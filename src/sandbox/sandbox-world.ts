import { chmod, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SANDBOX_PROGRAMS } from './programs.js';

// The files of the sandbox cluster, laid out the way the team lays out theirs: a NeoX-shaped checkout
// (NEOX_DIR) with configs and pretrain_neox.sbatch, a checkpoint pipeline sbatch that uploads to the local
// Hub, experiments under CHECKPOINTS_BASE_DIR, and a week of past pipeline logs for the digest.

export interface SandboxWorld {
  readonly neoxDir: string;
  readonly trainSbatch: string;
  readonly pipelineSbatch: string;
  readonly checkpointsBaseDir: string;
  readonly logsDir: string;
  /** Configs under NEOX_DIR/configs, by file name. */
  readonly configs: readonly string[];
}

export interface WorldOptions {
  /** The local Hub's URL (http://127.0.0.1:<port>): the pipeline's HF_ENDPOINT. */
  readonly hubUrl: string;
  /** Milliseconds the sandbox trainer spends per iteration. */
  readonly iterMs?: number;
  /** Milliseconds one pipeline run spends "converting" before it uploads. */
  readonly pipelineWorkMs?: number;
  /** The Hub organisation the past runs uploaded to. */
  readonly org: string;
}

/** The experiment the demo uploads: checkpoints 2000–7000 were never uploaded, 1000 was. */
export const DEMO_EXPERIMENT = 'demo';
const DEMO_STEPS = [1000, 2000, 3000, 4000, 5000, 6000, 7000];

const EXPERIMENTS: Record<string, readonly number[]> = {
  [DEMO_EXPERIMENT]: DEMO_STEPS,
  'pythia-160m-dolci-seed42': [1000, 2000, 3000, 4000, 5000],
  'pythia-410m-baseline': [1000, 2000],
  'sfm-sft_dolci_instruct_filtered-DPO_mbt_seed42': [695],
};

type PastRun = readonly [
  experiment: string,
  step: number,
  outcome: 'ok' | '429' | 'timeout',
  daysAgo: number,
];
const PAST_RUNS: readonly PastRun[] = [
  ['pythia-160m-dolci-seed42', 1000, 'ok', 6],
  ['pythia-410m-baseline', 1000, 'ok', 5],
  ['pythia-160m-dolci-seed42', 2000, '429', 4],
  ['pythia-160m-dolci-seed42', 2000, 'ok', 4],
  ['sfm-sft_dolci_instruct_filtered-DPO_mbt_seed42', 695, '429', 3],
  [DEMO_EXPERIMENT, 1000, 'ok', 2],
  ['pythia-160m-dolci-seed42', 3000, '429', 1],
  ['pythia-160m-dolci-seed42', 3000, 'ok', 0.5],
  ['pythia-160m-dolci-seed42', 4000, 'timeout', 0.4],
  ['pythia-410m-baseline', 2000, 'ok', 0.3],
  ['sfm-sft_dolci_instruct_filtered-DPO_mbt_seed42', 695, '429', 0.2],
];

export async function layOutWorld(dir: string, opts: WorldOptions): Promise<SandboxWorld> {
  const neoxDir = join(dir, 'gpt-neox');
  const checkpointsBaseDir = join(dir, 'checkpoints', 'sf_model_organisms');
  const logsDir = join(dir, 'logs');
  for (const d of [
    join(neoxDir, 'configs'),
    join(dir, 'data'),
    join(logsDir, 'training'),
    join(dir, 'pipeline'),
  ])
    await mkdir(d, { recursive: true });
  const dataPrefix = join(dir, 'data', 'pile_text_document');
  await writeFile(`${dataPrefix}.bin`, Buffer.alloc(4096, 7));
  await writeFile(`${dataPrefix}.idx`, Buffer.alloc(64, 1));

  const trainSbatch = join(neoxDir, 'pretrain_neox.sbatch');
  const template = await readFile(SANDBOX_PROGRAMS.trainSbatchTemplate, 'utf8');
  // The job runs under Slurm's environment: name this node's node binary, not whatever PATH finds.
  await writeExecutable(
    trainSbatch,
    template
      .replaceAll('exec node ', `exec ${process.execPath} `)
      .replaceAll('@FAKE_TRAINER@', SANDBOX_PROGRAMS.trainer),
  );
  const configs = await writeConfigs(neoxDir, dataPrefix, checkpointsBaseDir, opts.iterMs ?? 250);
  const pipelineSbatch = await writePipelineSbatch(join(dir, 'pipeline'), opts);
  for (const [exp, steps] of Object.entries(EXPERIMENTS))
    await makeCheckpoints(checkpointsBaseDir, exp, steps);
  await writePastRuns(join(logsDir, 'checkpoint_pipeline'), opts.org);
  return { neoxDir, trainSbatch, pipelineSbatch, checkpointsBaseDir, logsDir, configs };
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}

/**
 * demo.yml trains cleanly (50 iterations in about 12 s, a checkpoint every 50); demo-oom.yml runs out of
 * GPU memory at iteration 30 (a person decides); demo-resume.yml points `iteration` at a checkpoint that
 * is gone on its first run (the bot offers "resubmit with iteration N", which then trains).
 */
async function writeConfigs(neoxDir: string, dataPrefix: string, base: string, iterMs: number) {
  const common = (save: string) => ({
    'data-path': dataPrefix,
    save: join(base, save),
    'train-iters': 120,
    'log-interval': 10,
    'save-interval': 50,
    'num-layers': 6,
    'hidden-size': 512,
    'num-attention-heads': 8,
    'seq-length': 2048,
    'train-micro-batch-size-per-gpu': 8,
    fake_iter_ms: iterMs,
  });
  const resumeDir = 'demo-resume';
  await makeCheckpoints(base, resumeDir, [50, 100]);
  const files: Record<string, object> = {
    'demo.yml': common('demo-pretrain'),
    'demo-oom.yml': { ...common('demo-oom'), fake_failure: 'cuda_oom', fake_fail_at: 30 },
    'demo-resume.yml': {
      ...common(resumeDir),
      load: join(base, resumeDir),
      iteration: 100,
      fake_failure: 'checkpoint_not_found',
      fake_failure_once: true,
    },
  };
  await mkdir(join(base, 'demo-pretrain'), { recursive: true });
  await mkdir(join(base, 'demo-oom'), { recursive: true });
  for (const [name, cfg] of Object.entries(files)) {
    const header = `# Sandbox config (sandbox trainer). fake_* keys are the sandbox's own: fake_failure: <kind> fails\n# on purpose with any kind the bot classifies, at iteration fake_fail_at (once with fake_failure_once).\n`;
    await writeFile(join(neoxDir, 'configs', name), `${header}${JSON.stringify(cfg, null, 2)}\n`);
  }
  return Object.keys(files);
}

async function writePipelineSbatch(dir: string, opts: WorldOptions): Promise<string> {
  const template = await readFile(SANDBOX_PROGRAMS.pipelineSbatch, 'utf8');
  // Slurm runs a copy of the script from its spool dir: everything it needs is written into it.
  const settings = [
    `export HF_ENDPOINT=${opts.hubUrl}`,
    `export FAKE_PIPELINE_HELPER=${SANDBOX_PROGRAMS.pipeline}`,
    `export FAKE_PIPELINE_WORK_MS=${opts.pipelineWorkMs ?? 1500}`,
  ].join('\n');
  const path = join(dir, 'upload_and_evaluate_checkpoint.sbatch');
  await writeExecutable(path, template.replace('\nset -u\n', `\nset -u\n${settings}\n`));
  return path;
}

async function makeCheckpoints(base: string, experiment: string, steps: readonly number[]): Promise<void> {
  for (const s of steps) {
    const d = join(base, experiment, `global_step${s}`);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'mp_rank_00_model_states.pt'), Buffer.alloc(2048, 1));
  }
  await writeFile(join(base, experiment, 'latest'), `global_step${steps.at(-1)}\n`);
}

/** Past runs in the lines the pipeline prints, dated over the last week so the digest's trend has days. */
async function writePastRuns(dir: string, org: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const now = Date.now();
  let job = 1701;
  for (const [experiment, step, outcome, daysAgo] of PAST_RUNS) {
    const at = new Date(now - daysAgo * 86_400_000 - 600_000);
    const repo = `${org}/sfm-${experiment}`;
    const url = `https://huggingface.co/api/models/${repo}/commit/global_step${step}`;
    const body =
      outcome === 'ok'
        ? [`Successfully uploaded HF model (global_step${step}) to ${repo}`]
        : outcome === '429'
          ? [
              `huggingface_hub.errors.HfHubHTTPError: 429 Client Error: Too Many Requests for url: ${url}`,
              'RateLimit: "api";r=0;t=212',
              'Retry-After: 212',
              'Giving up after 0 retries',
            ]
          : [
              'RequestTimeout: Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
            ];
    const lines = [
      `=== Checkpoint pipeline job ${job} on sandbox ===`,
      `Experiment: ${experiment}`,
      `Checkpoint: ${step}`,
      `Converting global_step${step} to Hugging Face format`,
      ...body,
      `Pipeline completed at ${at.toString()} with exit code ${outcome === 'ok' ? 0 : 1}`,
      '',
    ];
    const file = join(dir, `checkpoint_pipeline_${job++}.out`);
    await writeFile(file, lines.join('\n'));
    await utimes(file, at, at);
  }
}
