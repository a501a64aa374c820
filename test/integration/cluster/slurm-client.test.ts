import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { SlurmClient } from '../../../src/cluster/slurm.js';
import type { JobInfo } from '../../../src/cluster/slurm-job.js';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import type { Transport } from '../../../src/cluster/transport.js';
import { ClusterError, UserError } from '../../../src/errors.js';

const tb = inject('testbed');

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let work: string;
let echoScript: string;
let sleepScript: string;
let failScript: string;
const local = new LocalTransport({ env: tb.slurm.env });
const transports: Transport[] = [local];

beforeAll(async () => {
  work = await mkdtemp(join(tb.dir, 'slurm-client-'));
  echoScript = join(work, 'echo-args.sh');
  // Prints each argument on its own line between brackets, and one exported variable.
  await writeFile(
    echoScript,
    '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\nprintf "FOO=%s\\n" "$FOO"\n',
  );
  sleepScript = join(work, 'sleep.sh');
  await writeFile(sleepScript, '#!/bin/sh\nsleep "$1"\n');
  failScript = join(work, 'fail.sh');
  await writeFile(failScript, '#!/bin/sh\necho about to fail\nexit 3\n');
  for (const s of [echoScript, sleepScript, failScript]) await chmod(s, 0o755);
});

afterAll(async () => {
  for (const t of transports) await t.close();
});

const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;

describe('SlurmClient against the test cluster', () => {
  it('submits a job and reads it back (name, comment, user, state), then its finished state', async () => {
    const slurm = new SlurmClient(local, { cacheTtlMs: 0 });
    const name = uniq('readback');
    const out = join(work, `${name}-%j.out`);
    const { jobId, argv } = await slurm.submit({
      script: echoScript,
      args: ['one', 'two words'],
      jobName: name,
      comment: 'submitted by test | with a bar',
      export: { FOO: 'bar-value' },
      output: out,
      chdir: work,
      time: '5:00',
    });
    expect(jobId).toMatch(/^\d+$/);
    expect(argv).toContain('--');

    const seen = await slurm.job(jobId);
    expect(seen).not.toBeNull();
    expect(seen?.id).toBe(jobId);
    expect(seen?.name).toBe(name);
    expect(seen?.user).toBe('root');
    expect(seen?.comment).toBe('submitted by test | with a bar');
    expect(seen?.timeLimitSeconds).toBe(300);
    expect(['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED']).toContain(seen?.state);

    const done = await waitFor('completion', async () => {
      const j = await slurm.job(jobId);
      return j?.state === 'COMPLETED' ? j : undefined;
    });
    expect(done.exitCode).toBe('0:0');
    expect(done.source).toBe('scontrol');
    expect(done.stdoutPath).toBe(out.replace('%j', jobId));
    expect(await readFile(out.replace('%j', jobId), 'utf8')).toBe('[one]\n[two words]\nFOO=bar-value\n');
  });

  it('holds a second same-name singleton job (PENDING, reason Dependency) while the first runs', async () => {
    const slurm = new SlurmClient(local, { cacheTtlMs: 0 });
    const name = uniq('singleton');
    const common = {
      script: sleepScript,
      jobName: name,
      dependency: 'singleton' as const,
      output: '/dev/null',
    };
    const first = await slurm.submit({ ...common, args: ['30'] });
    const second = await slurm.submit({ ...common, args: ['1'] });
    try {
      await waitFor('first to run', async () => (await slurm.job(first.jobId))?.state === 'RUNNING');
      // Give the scheduler a few passes: the second must stay held, not start beside the first.
      await new Promise((r) => setTimeout(r, 1500));
      const both = await slurm.jobs([first.jobId, second.jobId]);
      expect(both.get(first.jobId)?.state).toBe('RUNNING');
      const held = both.get(second.jobId);
      expect(held?.state).toBe('PENDING');
      expect(held?.reason).toBe('Dependency');
      expect(held?.dependency).toMatch(/^singleton/);
      await slurm.cancel(first.jobId);
      // With the first gone, the second may run.
      await waitFor('second to leave PENDING', async () => {
        const s = (await slurm.job(second.jobId))?.state;
        return s === 'RUNNING' || s === 'COMPLETED';
      });
    } finally {
      await slurm.cancel(first.jobId);
      await slurm.cancel(second.jobId);
    }
  });

  it('answers many ids from many concurrent callers with one squeue call, then from its cache', async () => {
    let clock = 1_000_000;
    const slurm = new SlurmClient(local, { cacheTtlMs: 5000, now: () => clock });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { jobId } = await slurm.submit({
        script: sleepScript,
        args: ['30'],
        jobName: uniq('batch'),
        hold: true,
        output: '/dev/null',
      });
      ids.push(jobId);
    }
    try {
      const before = slurm.stats.squeue;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => slurm.jobs(i % 2 === 0 ? ids : ids.slice(0, 3))),
      );
      expect(slurm.stats.squeue - before).toBe(1);
      for (const [i, a] of answers.entries()) {
        const want = i % 2 === 0 ? ids : ids.slice(0, 3);
        expect([...a.keys()]).toEqual(want);
        for (const j of a.values()) {
          expect(j?.state).toBe('PENDING');
          expect(j?.reason).toBe('JobHeldUser');
        }
      }
      // Within the TTL: no new call. After it: exactly one more.
      clock += 4000;
      await slurm.jobs(ids);
      expect(slurm.stats.squeue - before).toBe(1);
      clock += 2000;
      await Promise.all([slurm.jobs(ids), slurm.jobs(ids.slice(2))]);
      expect(slurm.stats.squeue - before).toBe(2);
    } finally {
      for (const id of ids) await slurm.cancel(id);
    }
  });

  it('never sends sbatch twice when the connection dies under it: finds the job by its comment, or says it was not submitted', async () => {
    // The connection drops after sbatch ran (the job exists), or before it reached the cluster.
    const cut = (when: 'after' | 'before') => {
      let sbatches = 0;
      let squeuesLost = 0;
      const t: Transport = {
        kind: 'ssh',
        async run(argv, opts) {
          const lost = new ClusterError('connection to the cluster was lost while it was running', {
            argv,
            exitCode: null,
            connectionLost: true,
          });
          if (argv[0] === 'sbatch') {
            sbatches++;
            if (when === 'after') await local.run(argv, opts);
            throw lost;
          }
          // The first read after the cut dies too: it is asked again.
          if (argv[0] === 'squeue' && squeuesLost++ === 0) throw lost;
          return local.run(argv, opts);
        },
        runScript: (s, o) => local.runScript(s, o),
        async close() {},
      };
      return { t, sbatches: () => sbatches };
    };
    const after = cut('after');
    const comment = uniq('chatops:U0TEST');
    const name = uniq('cut');
    const slurm = new SlurmClient(after.t, { cacheTtlMs: 0 });
    const { jobId } = await slurm.submit({
      script: sleepScript,
      args: ['30'],
      jobName: name,
      comment,
      output: '/dev/null',
    });
    expect(after.sbatches()).toBe(1);
    const job = await new SlurmClient(local, { cacheTtlMs: 0 }).job(jobId);
    expect(job).toMatchObject({ name, comment });
    await slurm.cancel(jobId);

    const before = cut('before');
    const lost = new SlurmClient(before.t, { cacheTtlMs: 0 });
    await expect(
      lost.submit({
        script: sleepScript,
        args: ['30'],
        jobName: uniq('cut'),
        comment: uniq('chatops:U0TEST'),
        output: '/dev/null',
      }),
    ).rejects.toThrow(
      /lost while sbatch ran, and no job with this request's comment is in the queue: it was not submitted\. Nothing was sent again/,
    );
    expect(before.sbatches()).toBe(1);
  });

  it('cancels a job; afterwards scontrol reports it CANCELLED', async () => {
    const slurm = new SlurmClient(local, { cacheTtlMs: 0 });
    const { jobId } = await slurm.submit({
      script: sleepScript,
      args: ['60'],
      jobName: uniq('cancel'),
      output: '/dev/null',
    });
    await waitFor('job to run', async () => (await slurm.job(jobId))?.state === 'RUNNING');
    await slurm.cancel(jobId);
    const gone = await waitFor('cancelled', async () => {
      const j = await slurm.job(jobId);
      return j?.state === 'CANCELLED' ? j : undefined;
    });
    expect(gone.source).toBe('scontrol');
    expect((await slurm.jobs([jobId])).get(jobId)).toBeNull();
  });

  it('reports a failed job with its exit code, falling back from sacct (no accounting here) to scontrol', async () => {
    const slurm = new SlurmClient(local, { cacheTtlMs: 0 });
    const { jobId } = await slurm.submit({ script: failScript, jobName: uniq('fail'), output: '/dev/null' });
    const j: JobInfo = await waitFor('failure', async () => {
      const x = await slurm.job(jobId);
      return x?.state === 'FAILED' ? x : undefined;
    });
    expect(j.exitCode).toBe('3:0');
    expect(j.source).toBe('scontrol');
    expect(slurm.accounting).toBe(false);
    const sacctCalls = slurm.stats.sacct;
    expect(await slurm.sacct([jobId])).toBeNull();
    expect(slurm.stats.sacct).toBe(sacctCalls); // remembered: no second sacct attempt
  });

  it('returns null for a job id Slurm never had', async () => {
    const slurm = new SlurmClient(local);
    expect(await slurm.job('987654321')).toBeNull();
    expect((await slurm.jobs(['987654321', '987654322'])).get('987654321' as never)).toBeNull();
  });

  it('summarises the queue for a user and rejects unknown or malformed users', async () => {
    const slurm = new SlurmClient(local);
    const held = await slurm.submit({
      script: sleepScript,
      jobName: uniq('summary'),
      hold: true,
      output: '/dev/null',
    });
    try {
      const s = await slurm.queueSummary('root');
      expect(s.user).toBe('root');
      expect(s.jobs.map((j) => j.id)).toContain(held.jobId);
      expect(s.pending).toBe(s.jobs.filter((j) => j.state === 'PENDING').length);
      expect(s.running + s.pending + s.other).toBe(s.jobs.length);
      const all = await slurm.queueSummary();
      // other test files' jobs come and go between the two calls: only the held job is certain
      expect(all.jobs.map((j) => j.id)).toContain(held.jobId);
    } finally {
      await slurm.cancel(held.jobId);
    }
    await expect(slurm.queueSummary('nosuchuser')).rejects.toThrow(/no user "nosuchuser"/);
    await expect(slurm.queueSummary('root;id')).rejects.toBeInstanceOf(UserError);
  });

  it('turns a Slurm failure into a ClusterError with its stderr', async () => {
    const slurm = new SlurmClient(local);
    const err = await slurm
      .submit({ script: sleepScript, jobName: uniq('badpart'), partition: 'nosuchpartition' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ClusterError', details: { exitCode: 1 } });
    expect((err as Error).message).toMatch(/^sbatch failed \(exit 1\): .*[Ii]nvalid partition/);
  });
});

describe.each([
  ['local', () => local],
  [
    'ssh',
    () => {
      const t = new SshTransport({
        host: tb.ssh.host,
        port: tb.ssh.port,
        username: tb.ssh.user,
        keyPath: tb.ssh.keyPath,
        knownHostsPath: tb.ssh.knownHostsPath,
      });
      transports.push(t);
      return t;
    },
  ],
])('hostile input over the %s transport', (_kind, makeTransport) => {
  it('passes hostile script arguments through as inert words and never creates the canary', async () => {
    const slurm = new SlurmClient(makeTransport(), { cacheTtlMs: 0 });
    const canary = join(work, uniq('canary'));
    const hostile = [
      `; touch ${canary}`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `--wrap=touch ${canary}`,
      `'; touch ${canary}; '`,
      `&& touch ${canary} #`,
      `-J`,
    ];
    const out = join(work, `${uniq('hostile')}.out`);
    const { jobId } = await slurm.submit({
      script: echoScript,
      args: hostile,
      jobName: uniq('hostile'),
      output: out,
    });
    await waitFor('hostile job to finish', async () => (await slurm.job(jobId))?.state === 'COMPLETED');
    expect(await readFile(out, 'utf8')).toBe(`${hostile.map((h) => `[${h}]`).join('\n')}\nFOO=\n`);
    expect(existsSync(canary)).toBe(false);
  });

  it('rejects hostile values before running anything', async () => {
    const slurm = new SlurmClient(makeTransport());
    const canary = join(work, uniq('canary'));
    const bad: Array<Parameters<SlurmClient['submit']>[0]> = [
      { script: sleepScript, jobName: `x; touch ${canary}` },
      { script: sleepScript, jobName: '--wrap=id' },
      { script: `${sleepScript}; touch ${canary}`, jobName: 'ok' },
      { script: 'relative.sh', jobName: 'ok' },
      { script: sleepScript, jobName: 'ok', comment: `a\ntouch ${canary}` },
      { script: sleepScript, jobName: 'ok', args: [`a\ntouch ${canary}`] },
      { script: sleepScript, jobName: 'ok', export: { FOO: `x,LD_PRELOAD=/tmp/evil.so` } },
      { script: sleepScript, jobName: 'ok', export: { 'BAD NAME': 'x' } },
      { script: sleepScript, jobName: 'ok', output: `/tmp/$(touch ${canary})` },
      { script: sleepScript, jobName: 'ok', chdir: '/tmp/../etc' },
      { script: sleepScript, jobName: 'ok', time: '1:00; id' },
      { script: sleepScript, jobName: 'ok', partition: '-p debug' },
    ];
    for (const opts of bad) {
      await expect(slurm.submit(opts), JSON.stringify(opts)).rejects.toBeInstanceOf(UserError);
    }
    for (const id of [`1; touch ${canary}`, '$(id)', '--all', '1 2', '1\n2', '']) {
      await expect(slurm.job(id)).rejects.toBeInstanceOf(UserError);
      await expect(slurm.cancel(id)).rejects.toBeInstanceOf(UserError);
      await expect(slurm.jobs(['1', id])).rejects.toBeInstanceOf(UserError);
    }
    expect(slurm.stats).toEqual({ squeue: 0, scontrol: 0, sacct: 0, sbatch: 0, scancel: 0 });
    expect(existsSync(canary)).toBe(false);
  });
});
