import { mkdtemp, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { describeTransportContract } from './transport-contract.js';

const tb = inject('testbed');

describeTransportContract(
  'local',
  () => new LocalTransport(),
  () => tb.dir,
);

describe('LocalTransport options', () => {
  it('merges env over the process environment, so Slurm commands reach the test cluster', async () => {
    const t = new LocalTransport({ env: tb.slurm.env });
    try {
      const r = await t.run(['sh', '-c', 'printf "%s|%s" "$SLURM_CONF" "$PATH"']);
      const [conf, path] = r.stdout.split('|');
      expect(conf).toBe(tb.slurm.confPath);
      expect(path).toBe(process.env.PATH); // inherited, not replaced
      const sinfo = await t.run(['sinfo', '-h', '-o', '%P']);
      expect(sinfo).toMatchObject({ exitCode: 0, stdout: `${tb.slurm.partition}*\n` });
    } finally {
      await t.close();
    }
  });

  it('runs in cwd when given', async () => {
    const dir = await realpath(await mkdtemp(join(tb.dir, 'local-cwd-')));
    const t = new LocalTransport({ cwd: dir });
    try {
      expect((await t.run(['pwd'])).stdout).toBe(`${dir}\n`);
    } finally {
      await t.close();
    }
  });
});
