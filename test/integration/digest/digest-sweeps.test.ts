import { randomUUID } from 'node:crypto';
import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { failedUploadsSweep } from '../../../jobs/sweeps/failed-uploads.js';
import { stalledTrainingSweep } from '../../../jobs/sweeps/stalled-training.js';
import { uploadPauseSweep } from '../../../jobs/sweeps/upload-pause.js';
import { ClusterFiles } from '../../../src/cluster/cluster-files.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';

const tb = inject('testbed');
const factories: QueueFactory[] = [];
afterEach(async () => {
  for (const f of factories.splice(0)) await f.close(0);
});
function factory(): QueueFactory {
  const f = new QueueFactory({ redisUrl: tb.redis.url, prefix: `t${randomUUID().slice(0, 8)}` });
  factories.push(f);
  return f;
}

describe('sweeps post only what needs a person, once', () => {
  it('announces an upload that failed for good once, and nothing when there is nothing', async () => {
    const f = factory();
    const queue = f.queue('ckpt-upload');
    const sweep = failedUploadsSweep({ queue, redis: f.redis(), keyPrefix: f.keyPrefix('ckpt-upload') });
    expect(await sweep.run(new Date())).toBeNull();

    const failed = new Promise<void>((resolve) => {
      const w = f.worker('ckpt-upload', async () => {
        throw new UnrecoverableError('Checkpoint 4000 for experiment exp-a not found');
      });
      w.worker.on('failed', () => resolve());
    });
    await queue.add('upload', {}, { jobId: 'exp-a@4000', attempts: 3 });
    await failed;

    const first = await sweep.run(new Date());
    expect(first?.title).toBe('1 checkpoint upload failed for good');
    expect(first?.table?.rows).toEqual([['exp-a@4000', 'Checkpoint 4000 for experiment exp-a not found']]);
    expect(await sweep.run(new Date())).toBeNull();
  });

  it('announces a long upload pause once, not a short one, not again when extended', async () => {
    const f = factory();
    const now = new Date('2026-11-28T10:00:00Z');
    let pause: { until: number; reason: string } | null = {
      until: now.getTime() + 5 * 60_000,
      reason: '429 from the Hub',
    };
    const sweep = uploadPauseSweep({
      pause: async () => pause,
      redis: f.redis(),
      keyPrefix: f.keyPrefix('ckpt-upload'),
    });
    expect(await sweep.run(now)).toBeNull();
    pause = { until: now.getTime() + 60 * 60_000, reason: '429 from the Hub' };
    const r = await sweep.run(now);
    expect(r?.title).toBe('Checkpoint uploads are paused');
    expect(r?.text).toContain('429 from the Hub');
    pause = { until: now.getTime() + 61 * 60_000, reason: '429 from the Hub' };
    expect(await sweep.run(now)).toBeNull();
    pause = null;
    expect(await sweep.run(now)).toBeNull();
  });

  it('hands a training job that stopped logging to the /train watch and says so once', async () => {
    const f = factory();
    const dir = await mkdtemp(join(tb.dir, 'training-'));
    const now = new Date();
    const log = async (id: string, minutesAgo: number) => {
      const p = join(dir, `neox-training-${id}.out`);
      await writeFile(p, ' iteration       50/  143000 | lm_loss: 7.4E+00 |\n');
      const t = new Date(now.getTime() - minutesAgo * 60_000);
      await utimes(p, t, t);
    };
    await log('501', 45); // stale, not watched → handed over
    await log('502', 5); // still logging
    await log('503', 90); // stale but already watched
    await log('504', 90); // stale but no longer running
    const handed: string[] = [];
    const sweep = stalledTrainingSweep({
      files: new ClusterFiles(new LocalTransport()),
      running: async () => ['501', '502', '503'],
      logDir: dir,
      redis: f.redis(),
      keyPrefix: f.keyPrefix('sweeps'),
      isWatched: async (id) => id === '503',
      handOff: async (id, path) => {
        handed.push(`${id} ${path}`);
      },
    });
    const r = await sweep.run(now);
    expect(r?.title).toBe('1 training job stopped logging');
    expect(r?.text).toContain('`501`: no log output for 45 min — now watched by /train');
    expect(handed).toEqual([`501 ${dir}/neox-training-501.out`]);
    expect(await sweep.run(now)).toBeNull();
  });
});
