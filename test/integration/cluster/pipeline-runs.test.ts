import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { PipelineRuns } from '../../../src/cluster/pipeline-runs.js';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';
import { SlurmClient } from '../../../src/cluster/slurm.js';
import { PIPELINE_LINE_PATTERNS } from '../../../src/pipeline/pipeline-log.js';

// The two log scripts of the upload worker run as the cluster runs them (sh -c BODY NAME OPERANDS…), and
// PipelineRuns over them, on a log directory whose name holds spaces, quotes and a leading dash.

const READ_LOG = loadRemoteScript('pipeline-log-lines.sh');
const RECENT = loadRemoteScript('pipeline-recent-logs.sh');
// Relative to the transport's cwd, so the operands themselves start with a dash.
const LOGS = `-logs "q" it's`;
const DIR = `${LOGS}/checkpoint_pipeline`;

let work: string;
let t: LocalTransport;

const noise = (n: number) => Array.from({ length: n }, (_, i) => `converting shard ${i}`);
const FAILED_LOG = [
  'Experiment: exp-a',
  'Checkpoint: global_step300',
  ...noise(30),
  `a line with it's "quoted" words`,
  'Successfully uploaded HF model to org/sfm-exp-a',
  ...noise(15),
  'ValueError: shard 7 is corrupt',
  'Pipeline completed at Sat Nov 28 10:00:00 UTC 2026 with exit code 1',
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pipeline-runs-'));
  t = new LocalTransport({ cwd: work });
  const dir = join(work, DIR);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'checkpoint_pipeline_11.out'), `${FAILED_LOG.join('\n')}\n`);
  await writeFile(
    join(dir, 'checkpoint_pipeline_12_3.out'),
    'Processing checkpoint global_step400 for upload\nExperiment: exp-b\nsome other line\n',
  );
  // Its checkpoint lines come after the first 4 KiB: not shown.
  await writeFile(join(dir, 'checkpoint_pipeline_13.out'), `${'x'.repeat(5000)}\nExperiment: exp-late\n`);
  await writeFile(join(dir, 'notes.txt'), 'Experiment: not-a-log\n');
  const old = join(dir, 'checkpoint_pipeline_9.out');
  await writeFile(old, 'Experiment: exp-old\nCheckpoint: 1\n');
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(old, hourAgo, hourAgo);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const patterns = PIPELINE_LINE_PATTERNS.flatMap((p) => ['-e', p]);

describe('pipeline-log-lines.sh', () => {
  it('prints the matching lines in file order, @@tail@@, then the last 20 lines, exit 0', async () => {
    const r = await t.runScript(READ_LOG, [`${DIR}/checkpoint_pipeline_11.out`, ...patterns]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        'Experiment: exp-a',
        'Checkpoint: global_step300',
        'Successfully uploaded HF model to org/sfm-exp-a',
        'Pipeline completed at Sat Nov 28 10:00:00 UTC 2026 with exit code 1',
        '@@tail@@',
        ...FAILED_LOG.slice(-20),
        '',
      ].join('\n'),
    );
  });

  it('takes patterns with quotes, spaces and a leading dash as fixed strings', async () => {
    const log = `${DIR}/checkpoint_pipeline_11.out`;
    const r = await t.runScript(READ_LOG, [log, '-e', `it's "quoted"`, '-e', '-x']);
    expect(r.stdout.split('\n@@tail@@\n')[0]).toBe(`a line with it's "quoted" words`);
    const none = await t.runScript(READ_LOG, [log, '-e', 'no line has this']);
    expect(none.exitCode).toBe(0);
    expect(none.stdout.startsWith('@@tail@@\n')).toBe(true);
  });

  it('prints @@missing@@ for a log that does not exist, exit 0', async () => {
    const r = await t.runScript(READ_LOG, [`${DIR}/checkpoint_pipeline_404.out`, ...patterns]);
    expect(r).toMatchObject({ exitCode: 0, stdout: '@@missing@@\n' });
  });
});

describe('pipeline-recent-logs.sh', () => {
  const blocks = (stdout: string) =>
    stdout
      .split(/^(?===> )/m)
      .filter(Boolean)
      .sort();

  it('prints a ==> line per log written since SINCE and its checkpoint lines from the first 4 KiB', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 600);
    const r = await t.runScript(RECENT, [DIR, since]);
    expect(r.exitCode).toBe(0);
    expect(blocks(r.stdout)).toEqual([
      '==> checkpoint_pipeline_11.out\nExperiment: exp-a\nCheckpoint: global_step300\n',
      '==> checkpoint_pipeline_12_3.out\nProcessing checkpoint global_step400 for upload\nExperiment: exp-b\n',
      '==> checkpoint_pipeline_13.out\n',
    ]);
    const older = await t.runScript(RECENT, [DIR, String(Math.floor(Date.now() / 1000) - 7200)]);
    expect(blocks(older.stdout).map((b) => b.split('\n')[0])).toContain('==> checkpoint_pipeline_9.out');
  });

  it('prints nothing for a directory that does not exist, exit 0', async () => {
    const r = await t.runScript(RECENT, ['-no such dir', '0']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '' });
  });
});

describe('PipelineRuns', () => {
  const runs = () => new PipelineRuns(new SlurmClient(t), t);

  it('recentRuns(): the runs of logs written since a moment, with the checkpoint each names', async () => {
    const found = await runs().recentRuns(`${LOGS}/`, Date.now() / 1000 - 600);
    expect(found.sort((a, b) => a.slurmJobId.localeCompare(b.slurmJobId))).toEqual([
      { slurmJobId: '11', experiment: 'exp-a', step: 300 },
      { slurmJobId: '12_3', experiment: 'exp-b', step: 400 },
      { slurmJobId: '13', experiment: null, step: null },
    ]);
    expect(await runs().recentRuns('-nowhere', 0)).toEqual([]);
  });

  it("readLog(): a log's telling lines, each once; null for a missing log", async () => {
    const lines = await runs().readLog(`${DIR}/checkpoint_pipeline_11.out`);
    expect(lines?.slice(0, 4)).toEqual(
      FAILED_LOG.filter((l) => PIPELINE_LINE_PATTERNS.some((p) => l.includes(p))),
    );
    expect(lines?.filter((l) => l.startsWith('Pipeline completed'))).toHaveLength(1);
    expect(lines).toContain('ValueError: shard 7 is corrupt');
    expect(await runs().readLog(`${DIR}/checkpoint_pipeline_404.out`)).toBeNull();
  });
});
