import { randomUUID } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dispatchAction, dispatchText } from '../../../commands/core/dispatch.js';
import { TrainingMonitor } from '../../../jobs/monitor-training.js';
import { SlurmClient } from '../../../src/cluster/slurm.js';
import { silentLogger } from '../../../src/logger.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import { scanLogFile } from '../../../src/training/scan-log-file.js';
import { jobNameFor } from '../../../src/training/submit-training.js';
import {
  CollectingMessenger,
  type TrainingCluster,
  trainingCluster,
  waitFor,
} from '../../fixtures/fake-trainer-harness.js';
import { commandDeps, slackUser, type TestDeps } from '../../helpers/command-deps.js';

const tb = inject('testbed');
const OPERATOR = 'U0OPERATOR';
const READER = 'U0READER';

let cluster: TrainingCluster;
let factory: QueueFactory;
let monitor: TrainingMonitor;
let deps: TestDeps;
const messenger = new CollectingMessenger();

beforeAll(async () => {
  cluster = await trainingCluster(tb, 'ssh');
  factory = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  monitor = new TrainingMonitor({
    factory,
    files: cluster.files,
    slurm: new SlurmClient(cluster.transport, { cacheTtlMs: 0 }),
    messenger,
    neoxDir: cluster.neoxDir,
    log: silentLogger(),
    pollMs: 250,
  });
  monitor.start();
  deps = commandDeps({
    transport: cluster.transport,
    env: {
      OPERATORS: OPERATOR,
      NEOX_DIR: cluster.neoxDir,
      TRAIN_SBATCH: cluster.script,
      LOGS_DIR: cluster.logsDir,
    },
    services: { train: { monitor, scanLogFile } },
  });
});
afterAll(async () => {
  await monitor?.close();
  await factory?.close(0);
  await cluster?.close();
});

const op = () => slackUser(OPERATOR);
const event = (p: { reply: { data?: unknown } }) => (p.reply.data as { event: string }).event;

describe('/train submit, status, logs, cancel', () => {
  it('submits after preflight, puts the Slack user in --comment, replies with job id and log path, and watches', async () => {
    const save = await cluster.saveDir('cmd-ok');
    const config = await cluster.config('cmd-ok', {
      'train-iters': 70,
      'log-interval': 1,
      save,
      fake_iter_ms: 20,
    });
    const reply = await dispatchText(deps, op(), 'train', `submit ${config} --name cmd-ok-run`);
    expect(reply.level).toBe('ok');
    const data = reply.data as { jobId: string; logPath: string; watching: boolean };
    expect(data.logPath).toBe(join(cluster.logsDir, 'training', `neox-training-${data.jobId}.out`));
    expect(data.watching).toBe(true);
    expect(reply.fields?.find((f) => f.label === 'log')?.value).toContain(data.logPath);
    const job = await cluster.slurm.job(data.jobId);
    expect(job?.comment).toMatch(new RegExp(`^chatops:${OPERATOR}:[0-9a-f]{8}$`));
    expect(job?.name).toBe('cmd-ok-run');
    // the audit record has the sbatch argv with the absolute config
    const rec = deps.audit.records.at(-1);
    expect(JSON.stringify(rec)).toContain(config);
    await waitFor('the report', () => messenger.forJob(data.jobId).find((p) => event(p) === 'report50'));
    const final = await waitFor('the final', () =>
      messenger.forJob(data.jobId).find((p) => event(p) === 'final'),
    );
    expect(final.reply.title).toContain('COMPLETED');

    const status = await dispatchText(deps, slackUser(READER), 'train', `status ${data.jobId}`);
    expect(status.data).toMatchObject({
      jobId: data.jobId,
      lastIteration: 70,
      trainIters: 70,
      findings: [],
      watched: true,
    });
    expect(status.fields?.find((f) => f.label === 'recent loss')?.value).toMatch(/[▁▂▃▄▅▆▇█]/);

    const logs = await dispatchText(deps, slackUser(READER), 'train', `logs ${data.jobId} 5`);
    expect(logs.code?.split('\n')).toHaveLength(5);
    expect(logs.code).toContain('training finished');
    const tooMany = await dispatchText(deps, slackUser(READER), 'train', `logs ${data.jobId} 100000`);
    expect(tooMany.level).toBe('error');
    expect(tooMany.text).toMatch(/at most 5000/);
  });

  it('a relative config path is resolved against NEOX_DIR and shown', async () => {
    const save = await cluster.saveDir('cmd-rel');
    const abs = await cluster.config('cmd-rel', {
      'train-iters': 3,
      'log-interval': 1,
      save,
      fake_iter_ms: 5,
    });
    const rel = `../configs/${abs.split('/').at(-1)}`;
    const reply = await dispatchText(deps, op(), 'train', `submit ${rel}`);
    expect(reply.level).toBe('ok');
    expect(reply.context?.join(' ')).toContain(`resolved against NEOX_DIR to \`${abs}\``);
    expect((reply.data as { configPath: string }).configPath).toBe(abs);
  });

  it('preflight failure: a clear message, the usage line, and nothing submitted', async () => {
    const config = await cluster.config('cmd-bad', {
      'train-iters': 3,
      'log-interval': 1,
      save: join(cluster.work, 'nope'),
    });
    // Other test files share the cluster: count only jobs this submit would have created.
    const mine = async () =>
      (await cluster.slurm.queueSummary()).jobs.filter((j) => j.name === jobNameFor(config)).length;
    const before = await mine();
    const reply = await dispatchText(deps, op(), 'train', `submit ${config}`);
    expect(reply.level).toBe('error');
    expect(reply.title).toMatch(/nothing was submitted/);
    expect(reply.text).toMatch(/`save` directory .* does not exist/);
    expect(reply.context?.join(' ')).toMatch(/Usage: \/train submit/);
    const rec = deps.audit.records.at(-1);
    expect(rec?.argv.length).toBeGreaterThan(0);
    expect(rec?.argv.some((a) => a[0] === 'sbatch')).toBe(false);
    expect(await mine()).toBe(before);
  });

  it('log_interval > 10 asks first; "Submit anyway" submits; the config is not edited', async () => {
    const save = await cluster.saveDir('cmd-li');
    const config = await cluster.config('cmd-li', {
      'train-iters': 3,
      'log-interval': 100,
      save,
      fake_iter_ms: 5,
    });
    const original = await readFile(config, 'utf8');
    const ask = await dispatchText(deps, op(), 'train', `submit ${config}`);
    expect(ask.level).toBe('warn');
    expect(ask.text).toMatch(/log_interval` is 100/);
    const button = ask.buttons?.[0];
    expect(button?.label).toBe('Submit anyway');
    const reader = await dispatchAction(deps, slackUser(READER), button?.actionId ?? '', button?.value ?? '');
    expect(reader.level).toBe('error');
    const go = await dispatchAction(deps, op(), button?.actionId ?? '', button?.value ?? '');
    expect(go.level).toBe('ok');
    expect((go.data as { jobId: string }).jobId).toMatch(/^\d+$/);
    expect(await readFile(config, 'utf8')).toBe(original);
    const forged = await dispatchAction(
      deps,
      op(),
      'train.submit.anyway',
      '{"config":"/x","name":"a;rm -rf /"}',
    );
    expect(forged.level).toBe('error');
  });

  it('hostile input is refused with a message and runs nothing', async () => {
    const marker = join(cluster.work, 'pwned');
    for (const text of [
      `submit /tmp/x.yml;touch ${marker}`,
      `submit '$(touch ${marker})'`,
      'submit /tmp/x.yml --name "a b"',
      'status 12;ls',
      'logs 1 -5',
      `cancel ${'9'.repeat(40)}`,
    ]) {
      const r = await dispatchText(deps, op(), 'train', text);
      expect(r.level, text).toBe('error');
    }
    await expect(access(marker)).rejects.toThrow();
    const reader = await dispatchText(deps, slackUser(READER), 'train', 'submit /tmp/x.yml');
    expect(reader.text).toMatch(/operators only/);
  });

  it('cancel asks to confirm; a double click cancels once', async () => {
    const save = await cluster.saveDir('cmd-cancel');
    const config = await cluster.config('cmd-cancel', {
      'train-iters': 100000,
      'log-interval': 1,
      save,
      fake_iter_ms: 50,
    });
    const sub = await dispatchText(deps, op(), 'train', `submit ${config}`);
    const jobId = (sub.data as { jobId: string }).jobId;
    await waitFor('the job to run', async () =>
      (await cluster.slurm.job(jobId))?.state === 'RUNNING' ? true : undefined,
    );
    const ask = await dispatchText(deps, op(), 'train', `cancel ${jobId}`);
    expect(ask.buttons?.[0]).toMatchObject({ actionId: 'train.cancel', value: jobId, style: 'danger' });
    expect(ask.buttons?.[0]?.confirm).toBeDefined();
    expect((await cluster.slurm.job(jobId))?.state).toBe('RUNNING');
    const [a, b] = await Promise.all([
      dispatchAction(deps, op(), 'train.cancel', jobId),
      dispatchAction(deps, op(), 'train.cancel', jobId),
    ]);
    const cancelled = [a, b].filter((r) => (r.data as { cancelled: boolean }).cancelled);
    expect(cancelled).toHaveLength(1);
    const third = await dispatchAction(deps, op(), 'train.cancel', jobId);
    expect((third.data as { cancelled: boolean }).cancelled).toBe(false);
    const scancels = deps.audit.records
      .flatMap((r) => r.argv ?? [])
      .filter((argv: readonly string[]) => argv[0] === 'scancel');
    expect(scancels).toHaveLength(1);
    const final = await waitFor('the final', () => messenger.forJob(jobId).find((p) => event(p) === 'final'));
    expect(final.reply.title).toContain('CANCELLED');
  });

  it('"resubmit with this fix" after checkpoint_not_found writes a new config and resumes from the newest checkpoint', async () => {
    const save = await cluster.saveDir('cmd-resume', [100, 200]);
    const config = await cluster.config('cmd-resume', {
      'train-iters': 205,
      'log-interval': 1,
      save,
      load: save,
      iteration: 300,
      fake_iter_ms: 5,
    });
    const { jobId, logPath } = await cluster.submitRaw(config, OPERATOR);
    await monitor.watch({
      jobId,
      logPath,
      configPath: config,
      save,
      saveInterval: null,
      submitter: OPERATOR,
      channel: 'C0TEST',
      threadTs: null,
    });
    const finding = await waitFor('the diagnosis', () =>
      messenger.forJob(jobId).find((p) => event(p) === 'finding'),
    );
    const button = finding.reply.buttons?.[0];
    expect(button).toMatchObject({ actionId: 'train.resubmit', value: `${jobId} iteration=200` });
    const r = await dispatchAction(deps, op(), button?.actionId ?? '', button?.value ?? '');
    expect(r.level).toBe('ok');
    const fixed = config.replace(/\.yml$/, '.resume-200.yml');
    expect((r.data as { configPath: string }).configPath).toBe(fixed);
    expect(await readFile(fixed, 'utf8')).toMatch(/iteration: 200/);
    expect(await readFile(config, 'utf8')).toMatch(/iteration: 300/);
    const newJob = (r.data as { jobId: string }).jobId;
    const final = await waitFor('the resumed run', () =>
      messenger.forJob(newJob).find((p) => event(p) === 'final'),
    );
    expect(final.reply.title).toContain('COMPLETED');
    expect((final.reply.data as { lastIteration: number }).lastIteration).toBe(205);
  });
  it('status of a job the bot did not watch reads the log; an unknown job is a clear error', async () => {
    const save = await cluster.saveDir('cmd-unwatched');
    const config = await cluster.config('cmd-unwatched', {
      'train-iters': 20,
      'log-interval': 1,
      save,
      fake_iter_ms: 10,
      fake_failure: 'cuda_oom',
      fake_fail_at: 12,
    });
    const { jobId } = await cluster.submitRaw(config, OPERATOR);
    await waitFor('the job to end', async () => {
      const j = await cluster.slurm.job(jobId);
      return j && !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING'].includes(j.state) ? true : undefined;
    });
    const status = await dispatchText(deps, slackUser(READER), 'train', `status ${jobId}`);
    expect(status.data).toMatchObject({ jobId, state: 'FAILED', lastIteration: 11, watched: false });
    expect((status.data as { findings: { kind: string }[] }).findings.map((f) => f.kind)).toEqual([
      'cuda_oom',
    ]);
    expect(status.level).toBe('error');
    const unknown = await dispatchText(deps, slackUser(READER), 'train', 'status 987654');
    expect(unknown.level).toBe('error');
    expect(unknown.text).toMatch(/Slurm does not know job 987654/);
    const noLog = await dispatchText(deps, slackUser(READER), 'train', 'logs 987654');
    expect(noLog.text).toMatch(/There is no log at .*neox-training-987654\.out/);
  });
});
