import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClusterFiles } from '../../../src/cluster/cluster-files.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import { preflight } from '../../../src/neox/preflight.js';
import { CountingTransport as Counting } from '../../helpers/counting-transport.js';

const tb = inject('testbed');

let work: string;
let neoxDir: string;
let ssh: SshTransport;
let files: ClusterFiles;

async function config(name: string, body: string): Promise<string> {
  const p = join(work, 'configs', name);
  await writeFile(p, body);
  return p;
}

beforeAll(async () => {
  work = await mkdtemp(join(tb.dir, 'preflight-'));
  neoxDir = join(work, 'neox');
  await mkdir(join(neoxDir, 'configs'), { recursive: true });
  await mkdir(join(work, 'configs'));
  await mkdir(join(work, 'data', 'pile'), { recursive: true });
  for (const ext of ['bin', 'idx'])
    await writeFile(join(work, 'data', 'pile', `pile_text_document.${ext}`), 'x');
  await mkdir(join(work, 'ckpt', 'exp1', 'global_step100'), { recursive: true });
  await mkdir(join(work, 'ckpt', 'exp1', 'global_step200'), { recursive: true });
  ssh = new SshTransport({
    host: tb.ssh.host,
    port: tb.ssh.port,
    username: tb.ssh.user,
    keyPath: tb.ssh.keyPath,
    knownHostsPath: tb.ssh.knownHostsPath,
  });
  files = new ClusterFiles(ssh);
});
afterAll(async () => {
  await ssh?.close();
});

const good = () => `# NeoX config
{
  "train-iters": 2000,
  "log_interval": 1,
  "data-path": "${work}/data/pile/pile_text_document",
  "save": "${work}/ckpt/exp1",
  "load": "${work}/ckpt/exp1",
  "iteration": 200,
}
`;

describe('preflight over SSH (files are checked on the cluster)', () => {
  it('passes a good config in two round trips', async () => {
    const t = new Counting(ssh);
    const r = await preflight(new ClusterFiles(t), { config: await config('good.yml', good()), neoxDir });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.existingSteps).toEqual([100, 200]);
    expect(r.config?.trainIters).toBe(2000);
    expect(t.calls).toHaveLength(2);
  });

  it('resolves a relative config path against NEOX_DIR and says so', async () => {
    await writeFile(join(neoxDir, 'configs', 'rel.yml'), good());
    const r = await preflight(files, { config: 'configs/rel.yml', neoxDir });
    expect(r.configPath).toBe(join(neoxDir, 'configs', 'rel.yml'));
    expect(r.resolvedFrom).toBe('configs/rel.yml');
    expect(r.notes.join('\n')).toContain(
      `resolved against NEOX_DIR to \`${join(neoxDir, 'configs', 'rel.yml')}\``,
    );
    expect(r.problems).toEqual([]);
  });

  it('reports a missing config, a directory, and bad YAML', async () => {
    const missing = await preflight(files, { config: join(work, 'configs', 'nope.yml'), neoxDir });
    expect(missing.problems[0]).toMatch(/does not exist on the cluster/);
    const dir = await preflight(files, { config: join(work, 'configs'), neoxDir });
    expect(dir.problems[0]).toMatch(/not a regular file/);
    const bad = await preflight(files, {
      config: await config('bad.yml', 'train-iters: [1, 2\nsave: x: y\n'),
      neoxDir,
    });
    expect(bad.problems[0]).toMatch(/not valid YAML/);
    const list = await preflight(files, { config: await config('list.yml', '- a\n- b\n'), neoxDir });
    expect(list.problems[0]).toMatch(/not a YAML mapping/);
  });

  it('finds a missing data path and suggests the nearest existing one', async () => {
    const body = good().replace('pile/pile_text_document', 'pile/pile_txt_document');
    const r = await preflight(files, { config: await config('data.yml', body), neoxDir });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain(`missing \`${work}/data/pile/pile_txt_document.bin\``);
    expect(r.problems[0]).toContain(`Nearest existing data: \`${work}/data/pile/pile_text_document\``);
    // a typo in the directory: candidates come from sibling directories
    const r2 = await preflight(files, {
      config: await config('data2.yml', good().replace('data/pile/', 'data/pyle/')),
      neoxDir,
    });
    expect(r2.problems[0]).toContain(`Nearest existing data: \`${work}/data/pile/pile_text_document\``);
  });

  it('checks save exists and is a directory', async () => {
    const r = await preflight(files, {
      config: await config('save.yml', good().replace(/"save": "[^"]*"/, `"save": "${work}/ckpt/nothere"`)),
      neoxDir,
    });
    expect(r.problems).toEqual([
      `\`save\` directory \`${work}/ckpt/nothere\` does not exist. Create it (mkdir -p) or fix the path.`,
    ]);
    await writeFile(join(work, 'afile'), 'x');
    const r2 = await preflight(files, {
      config: await config('save2.yml', good().replace(/"save": "[^"]*"/, `"save": "${work}/afile"`)),
      neoxDir,
    });
    expect(r2.problems[0]).toMatch(/exists but is not a directory/);
  });

  it('lists the existing checkpoints when load + iteration points nowhere', async () => {
    const r = await preflight(files, {
      config: await config('iter.yml', good().replace('"iteration": 200', '"iteration": 150')),
      neoxDir,
    });
    expect(r.problems).toEqual([
      `\`iteration: 150\` but \`${work}/ckpt/exp1/global_step150\` does not exist (existing: global_step100, global_step200). Set \`iteration: 200\` to resume from the newest.`,
    ]);
  });

  it('warns (does not block) when log_interval > 10, also when it is unset (NeoX default 100)', async () => {
    const r = await preflight(files, {
      config: await config('li.yml', good().replace('"log_interval": 1', '"log-interval": 50')),
      neoxDir,
    });
    expect(r.problems).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toEqual(['log_interval']);
    expect(r.warnings[0]?.message).toMatch(/`log_interval` is 50/);
    const unset = await preflight(files, {
      config: await config('li2.yml', good().replace('"log_interval": 1,', '')),
      neoxDir,
    });
    expect(unset.warnings[0]?.message).toMatch(/is 100 \(NeoX default/);
  });

  it('handles hostile paths in the config without running them', async () => {
    const marker = join(work, 'pwned');
    const body = good().replace(/"save": "[^"]*"/, `"save": "${work}/x; touch ${marker}"`);
    const r = await preflight(files, { config: await config('evil.yml', body), neoxDir });
    expect(r.problems[0]).toMatch(/characters a cluster path never uses/);
    const body2 = good().replace(/"save": "[^"]*"/, `"save": "${work}/x \\$(touch ${marker})"`);
    const r2 = await preflight(files, { config: await config('evil2.yml', body2), neoxDir });
    expect(r2.problems.length).toBeGreaterThan(0);
    await expect(import('node:fs/promises').then((fs) => fs.access(marker))).rejects.toThrow();
  });

  it('works the same through the local transport, with paths containing spaces', async () => {
    await mkdir(join(work, 'sp ace', 'save'), { recursive: true });
    await chmod(join(work, 'sp ace', 'save'), 0o755);
    const body = good().replace(/"save": "[^"]*"/, `"save": "${work}/sp ace/save"`);
    const r = await preflight(new ClusterFiles(new LocalTransport()), {
      config: await config('space.yml', body),
      neoxDir,
    });
    expect(r.problems).toEqual([]);
  });
  it('needs the training log directory to exist (Slurm writes the job log there)', async () => {
    const ok = await preflight(files, {
      config: await config('logs.yml', good()),
      neoxDir,
      logDir: join(work, 'configs'),
    });
    expect(ok.problems).toEqual([]);
    const r = await preflight(files, {
      config: await config('logs2.yml', good()),
      neoxDir,
      logDir: join(work, 'no-logs', 'training'),
    });
    expect(r.problems).toEqual([
      `The training log directory \`${join(work, 'no-logs', 'training')}\` does not exist: Slurm could not write the job's log. Create it or fix LOGS_DIR.`,
    ]);
  });
});
