import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { SlurmClient } from '../../../src/cluster/slurm.js';
import { ClusterError } from '../../../src/errors.js';
import { startTestbed, type Testbed } from '../../../src/sandbox/testbed.js';

// slurmctld restarted under a running job, on a cluster of this file's own (the shared one serves other
// files meanwhile): while it is down a query waits for it (squeue's own retries) or fails, and never says
// the job is gone (which would end a watch with a wrong final state); once it is back the job is there,
// still running, and finishes.

let tb: Testbed;
let slurm: SlurmClient;
let local: LocalTransport;

beforeAll(async () => {
  tb = await startTestbed({ redis: false, ssh: false, slurm: true });
  local = new LocalTransport({ env: tb.info.slurm.env });
  slurm = new SlurmClient(local, { cacheTtlMs: 0 });
}, 120_000);
afterAll(async () => {
  await local?.close();
  await tb?.stop();
});

describe('a slurmctld restart under a running job', () => {
  it('never reports the job gone while it is down, then finds it still running and lets it finish', async () => {
    const script = join(tb.info.dir, 'sleep.sh');
    await writeFile(script, '#!/bin/sh\nsleep 12\necho done\n');
    await chmod(script, 0o755);
    const { jobId } = await slurm.submit({
      script,
      jobName: 'ctld-restart',
      output: join(tb.info.dir, 'ctld-%j.out'),
      chdir: tb.info.dir,
      time: '5:00',
    });
    for (let i = 0; i < 100 && (await slurm.job(jobId))?.state !== 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await slurm.job(jobId))?.state).toBe('RUNNING');

    const restarted = tb.restartSlurmctld(3_000);
    await new Promise((r) => setTimeout(r, 1_500));
    // Down: squeue waits for the controller (its own retries) or fails, and never says the job is gone.
    const t0 = Date.now();
    const down = await slurm.jobs([jobId]).catch((e: unknown) => e);
    const waitedMs = Date.now() - t0;
    if (down instanceof Map) expect(down.get(jobId)?.state).toBe('RUNNING');
    else expect(down).toBeInstanceOf(ClusterError);
    await restarted;
    expect(waitedMs).toBeGreaterThan(500); // it was asked while the controller was down

    expect((await slurm.jobs([jobId])).get(jobId)?.state).toBe('RUNNING');
    let state: string | undefined;
    for (let i = 0; i < 200; i++) {
      state = (await slurm.job(jobId))?.state;
      if (state === 'COMPLETED' || state === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe('COMPLETED');
  }, 90_000);
});
