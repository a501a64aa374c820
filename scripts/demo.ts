import { chmod, mkdir, utimes, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { cliMain } from '../src/app/cli.js';
import { LocalTransport } from '../src/cluster/local/local-transport.js';
import { startTestbed } from '../src/sandbox/testbed.js';

// npm run demo: the product on its built-in local default, on a fresh machine. It starts a private Slurm
// cluster and Redis on loopback (the test suite's testbed), lays out a small experiment tree the way the
// team lays it out, submits two training-like jobs, and opens the console as the local user
// (an operator here). With stdin not a terminal it runs a short scripted tour and exits.

const ITER = (i: number, loss: number) =>
  ` samples/sec: 37.512 | iteration ${String(i).padStart(9)}/  143000 | elapsed time per iteration (ms): 27300.4 | learning rate: 7.500E-06 | approx flops per GPU: 152.3TFLOPS | lm_loss: ${neoxFloat(loss)} | loss scale: 65536.0 | number of skipped iterations:   0 | number of nan iterations:   0 |`;

/** NeoX prints floats like 7.412356E+00. */
function neoxFloat(x: number): string {
  const [m, e = '+0'] = x.toExponential(6).split('e');
  return `${m}E${e[0]}${e.slice(1).padStart(2, '0')}`;
}

async function layout(dir: string) {
  const checkpoints = join(dir, 'checkpoints', 'sf_model_organisms');
  const logs = join(dir, 'logs');
  const experiments: Record<string, number[]> = {
    'pythia-160m-dolci-seed42': [1000, 2000, 3000, 4000, 5000],
    'pythia-410m-baseline': [1000, 2000],
    'sfm-sft_dolci_instruct_filtered-DPO_mbt_seed42': [695],
  };
  for (const [exp, steps] of Object.entries(experiments)) {
    for (const s of steps) await mkdir(join(checkpoints, exp, `global_step${s}`), { recursive: true });
    await writeFile(join(checkpoints, exp, 'latest'), `global_step${steps.at(-1)}\n`);
  }
  await mkdir(join(logs, 'training'), { recursive: true });
  const pipeline = join(logs, 'checkpoint_pipeline');
  await mkdir(pipeline, { recursive: true });
  const runs: [string, string, number, string[]][] = [
    [
      '1701',
      'pythia-160m-dolci-seed42',
      1000,
      ['Successfully uploaded model to geodesic-research/sfm-pythia-160m-dolci-seed42'],
    ],
    [
      '1702',
      'pythia-160m-dolci-seed42',
      2000,
      ['HfHubHTTPError: 429 Client Error: Too Many Requests for url: https://huggingface.co/api/models'],
    ],
    [
      '1703',
      'pythia-410m-baseline',
      1000,
      ['Successfully uploaded model to geodesic-research/sfm-pythia-410m-baseline'],
    ],
  ];
  const now = Date.now() / 1000;
  for (const [job, exp, step, lines] of runs) {
    const ok = lines[0]?.startsWith('Successfully');
    const file = join(pipeline, `checkpoint_pipeline_${job}.out`);
    await writeFile(
      file,
      [
        `Experiment: ${exp}`,
        `Checkpoint: ${step}`,
        ...lines,
        `Pipeline completed at ${new Date().toString()} with exit code ${ok ? 0 : 1}`,
        '',
      ].join('\n'),
    );
    await utimes(file, now - 3600, now - 3600);
  }
  // A training job script shaped like pretrain_neox.sbatch: real-format iteration lines, then it keeps running.
  const script = join(dir, 'demo-train.sbatch');
  await writeFile(
    script,
    [
      '#!/bin/bash',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell variable, expanded by bash in the job
      'echo "Job ${SLURM_JOB_ID} starting on $(hostname)"',
      ...[10, 20, 30].map((i, k) => `echo '${ITER(i, 7.4 - k * 0.3)}'`),
      'sleep 900',
      '',
    ].join('\n'),
  );
  await chmod(script, 0o755);
  return { checkpoints, logs, script };
}

export default async function demo(): Promise<number> {
  process.stderr.write('[demo] starting a private Slurm cluster and Redis on 127.0.0.1 …\n');
  const tb = await startTestbed({ redis: true, ssh: false, slurm: true });
  const local = new LocalTransport({ env: tb.info.slurm.env });
  try {
    const { checkpoints, logs, script } = await layout(tb.info.dir);
    const submit = async (name: string, extra: string[] = []) => {
      const r = await local.run([
        'sbatch',
        '--parsable',
        `--job-name=${name}`,
        '-o',
        join(logs, 'training', 'neox-training-%j.out'),
        ...extra,
        script,
      ]);
      return r.stdout.trim().split(';')[0] ?? '';
    };
    const running = await submit('neox-pythia-160m');
    // Same name with singleton: waits for the first one, so the queue shows a pending job too.
    await submit('neox-pythia-160m', ['--dependency=singleton']);
    // Wait (bounded) for the first job to start, so the queue shows one running and one pending.
    for (let i = 0; i < 40; i++) {
      const q = await local.run(['squeue', '-h', '-j', running, '-o', '%T']);
      if (q.stdout.trim() === 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const me = userInfo().username;
    const env: Record<string, string | undefined> = {
      ...process.env,
      CLUSTER_TRANSPORT: 'local',
      CHECKPOINTS_BASE_DIR: checkpoints,
      LOGS_DIR: logs,
      REDIS_URL: tb.info.redis.url,
      AUDIT_LOG: join(tb.info.dir, 'audit.jsonl'),
      CLI_OPERATORS: me,
    };
    const interactive = process.stdin.isTTY === true;
    const tour = [
      'help',
      '/train list',
      `/train status ${running}`,
      '/ckpt list',
      '/ckpt status pythia-160m-dolci-seed42',
      '/ckpt queue',
      '/ckpt digest',
      '/ckpt list --json',
      'ckpt help',
    ];
    process.stderr.write(
      `[demo] cluster up: jobs submitted, checkpoints under ${checkpoints}\n` +
        (interactive
          ? `[demo] try: ${tour.slice(1).join('   ')}   (exit to stop)\n`
          : '[demo] stdin is not a terminal: running the scripted tour\n'),
    );
    return await cliMain({
      argv: ['console'],
      env,
      stdin: interactive ? process.stdin : Readable.from([`${tour.join('\n')}\n`]),
      stdout: process.stdout,
      stderr: process.stderr,
      localEnv: tb.info.slurm.env,
    });
  } finally {
    await local.run(['scancel', '--name=neox-pythia-160m']).catch(() => {});
    await tb.stop();
    process.stderr.write('[demo] stopped the cluster and removed its files\n');
  }
}

demo().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `[demo] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
