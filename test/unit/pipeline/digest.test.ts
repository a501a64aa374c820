import { access, appendFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { parseScanOutput } from '../../../src/cluster/pipeline-scan-records.js';
import {
  PIPELINE_SCAN,
  PipelineScanner,
  type ScanEngine,
  scanOperands,
} from '../../../src/cluster/pipeline-scanner.js';
import type { Transport } from '../../../src/cluster/transport.js';
import { localDigestSource } from '../../../src/digest/digest-source.js';
import { LogSweeper } from '../../../src/digest/log-sweeper.js';
import { MemoryScanStore } from '../../../src/digest/scan-store.js';
import { compareWithPrevious, computeDigest } from '../../../src/pipeline/digest-stats.js';
import { parsePipelineLog } from '../../../src/pipeline/pipeline-log.js';
import {
  type GeneratedDir,
  generatePipelineDir,
  pipelineLogText,
  writeSettledDir,
} from '../../fixtures/pipeline/generate-logs.js';

/** The offline digest of a directory on this machine, as the wiring builds it. */
const localSource = (dir: string) => localDigestSource(dir, new PipelineScanner(new LocalTransport()));

describe('pipeline log parser', () => {
  it('reads experiment, step, repos and a 429 retried to success', () => {
    const run = parsePipelineLog(
      pipelineLogText({ jobId: '1', experiment: 'exp-a', step: 3000, kind: 'success_after_429' }),
      { jobId: '1' },
    );
    expect(run).toMatchObject({
      jobId: '1',
      experiment: 'exp-a',
      step: 3000,
      outcome: 'succeeded',
      exitCode: 0,
      uploadedRepos: ['geodesic-research/exp-a-s3000'],
      rateLimitHits: 1,
      rateLimit: { policy: 'api', remaining: 0, resetSeconds: 217, retryAfterSeconds: 217 },
      repoAlreadyExists: true,
      failureCause: null,
    });
  });

  it('classifies failures and names the telling line', () => {
    const p = (kind: 'fail_429' | 'fail_timeout' | 'fail_other') =>
      parsePipelineLog(pipelineLogText({ jobId: '2', experiment: 'e', step: 7, kind }));
    expect(p('fail_429')).toMatchObject({ outcome: 'failed', failureCause: 'rate_limited', exitCode: 1 });
    expect(p('fail_429').tellingLine).toContain('HfHubHTTPError: 429');
    expect(p('fail_timeout')).toMatchObject({ failureCause: 'timeout' });
    expect(p('fail_timeout').tellingLine).toContain('RequestTimeout:');
    expect(p('fail_other')).toMatchObject({ failureCause: 'other', exitCode: 2 });
    expect(p('fail_other').tellingLine).toBe('FileNotFoundError: Checkpoint 7 for experiment e not found');
  });

  it('treats a log without a completion line as running, and reads the older step line', () => {
    expect(parsePipelineLog('Experiment: x\nProcessing checkpoint 42\nUploading\n')).toMatchObject({
      experiment: 'x',
      step: 42,
      outcome: 'running',
      exitCode: null,
      failureCause: null,
    });
  });

  it('takes the repo after the LAST " to " and ignores "already exists"', () => {
    const run = parsePipelineLog(
      'Experiment: x\nRepository o/r already exists\nSuccessfully uploaded path/to model to o/r-short\n' +
        'Pipeline completed at now with exit code 0\n',
    );
    expect(run.uploadedRepos).toEqual(['o/r-short']);
    expect(run.outcome).toBe('succeeded');
  });
});

describe('digest over a generated log directory (scanned with the real one-command scanner)', () => {
  let root: string;
  let g: GeneratedDir;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'digest-'));
    g = await generatePipelineDir(join(root, 'checkpoint_pipeline'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("counts every outcome exactly, in the digest's JSON shape, and ignores stray files", async () => {
    const source = await localSource(g.dir);
    const report = await source.report({ since: g.since, until: g.until });
    expect(report.reply.data).toStrictEqual(g.expected);
    expect(Object.keys(report.reply.data as object)).toEqual(['experiments', 'uploadedRepos']);
    const prev = computeDigest(report.sweep.records, {
      since: new Date(g.since.getTime() - 86_400_000),
      until: g.since,
    });
    expect(prev.json).toStrictEqual(g.expectedPrevious);
  });

  it('lists failures with job ids, causes and telling lines, and the change vs the previous period', async () => {
    const source = await localSource(g.dir);
    const sweep = await source.sweep();
    const cmp = compareWithPrevious(sweep.records, { since: g.since, until: g.until });
    const byJob = Object.fromEntries(cmp.current.failures.map((f) => [f.jobId, f]));
    expect(Object.keys(byJob).sort()).toEqual(Object.keys(g.failedJobs).sort());
    for (const [job, want] of Object.entries(g.failedJobs)) {
      expect(byJob[job]?.cause).toBe(want.cause);
      expect(byJob[job]?.line).toContain(want.line);
    }
    // 5/10 now vs 2/3 before: −16.7 points.
    expect(cmp.successRateChange).toBe(-16.7);
    expect(cmp.experimentRateChange['exp-alpha']).toBe(0);
  });

  it('accepts the log root (with checkpoint_pipeline/ inside) as --logs', async () => {
    const source = await localSource(root);
    expect(source.dir).toBe(g.dir);
    const report = await source.report({ since: g.since, until: g.until });
    expect(report.reply.data).toStrictEqual(g.expected);
  });

  it.each([
    ['stats (the perl agent on a cluster)', true],
    ['one find', false],
  ])(
    'on a settled directory, asks by %s, and still sees a running log grow and a new log appear',
    async (_how, stats) => {
      const dir = await mkdtemp(join(tmpdir(), 'pipeline-fast-'));
      // An old directory mtime is one the scanner trusts: later sweeps take the quick check.
      const running = await writeSettledDir(dir, { experiment: 'exp-fast', firstJob: 1801 });
      const old = new Date(Date.now() - 60_000);
      const local = new LocalTransport();
      const commands: string[] = [];
      const transport: Transport = {
        kind: 'local',
        run: (argv, o) => {
          commands.push(argv[0] === 'sh' ? 'scan' : (argv[0] ?? ''));
          return local.run(argv, o);
        },
        runScript: (script, operands, o) => {
          commands.push(script.name === 'pipeline-scan.sh' ? 'scan' : script.name);
          return local.runScript(script, operands, o);
        },
        close: () => local.close(),
        ...(stats ? { statPaths: (p: readonly string[]) => local.statPaths(p) } : {}),
      };
      const scanner = new LogSweeper({
        scanner: new PipelineScanner(transport),
        store: new MemoryScanStore(),
      });
      expect((await scanner.sweep(dir)).changed).toBe(2);
      expect((await scanner.sweep(dir)).changed).toBe(0);
      // Nothing new: the second sweep ended at the quick check.
      expect(commands).toEqual(stats ? ['scan'] : ['scan', 'find']);

      // Appending keeps the directory's mtime: only the running log's own size tells.
      await appendFile(
        running,
        'Successfully uploaded model to org/sfm-exp-fast\nPipeline completed at Sat Nov 28 10:00:00 UTC 2026 with exit code 0\n',
      );
      const grown = await scanner.sweep(dir);
      expect(grown.changed).toBe(1);
      const rec = grown.records.find((r) => r.name === 'checkpoint_pipeline_1801.out');
      expect(rec?.run.outcome).toBe('succeeded');
      expect(rec?.run.uploadedRepos).toEqual(['org/sfm-exp-fast']);

      await utimes(dir, old, old);
      expect((await scanner.sweep(dir)).changed).toBe(0);
      await writeFile(
        join(dir, 'checkpoint_pipeline_1803.out'),
        pipelineLogText({ jobId: '1803', experiment: 'exp-fast', step: 300, kind: 'fail_429' }),
      );
      const added = await scanner.sweep(dir);
      expect(added.changed).toBe(1);
      expect(added.records).toHaveLength(3);
      await rm(dir, { recursive: true, force: true });
    },
  );

  it('re-reads only new or changed logs on the next sweep', async () => {
    const source = await localSource(g.dir);
    const first = await source.sweep();
    expect(first.changed).toBe(16);
    const again = await source.sweep();
    expect(again.changed).toBe(0);
    expect(again.bytesReturned).toBeLessThan(64); // only the directory's mtime record
    const p = join(g.dir, 'checkpoint_pipeline_1707.out');
    await writeFile(
      p,
      pipelineLogText({ jobId: '1707', experiment: 'exp-alpha', step: 7000, kind: 'success' }),
    );
    const t = new Date(g.until.getTime() - 3_600_000);
    await utimes(p, t, t);
    const third = await source.sweep();
    expect(third.changed).toBe(1);
    const d = computeDigest(third.records, { since: g.since, until: g.until });
    expect(d.json.experiments['exp-alpha']).toMatchObject({ completed: 7, succeeded: 4, running: 0 });
  });
});

describe('lines far from the end of a log are still found', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "digest we'ird $(touch pwned) "));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the whole log when the last 4 KB cannot answer, and takes a hostile directory name literally', async () => {
    const evalOutput = 'eval: task hellaswag batch 17 acc=0.291 acc_norm=0.318\n'.repeat(2000); // ~110 KB
    const done = (code: number) =>
      `Pipeline completed at Sat Nov 28 08:00:00 UTC 2026 with exit code ${code}\n`;
    const logs: Record<string, string> = {
      // Uploads, then a long evaluation: the repo is far from the end.
      '9001': `Experiment: far\nCheckpoint: 1\nSuccessfully uploaded model to org/far-evaluated\n${evalOutput}${done(0)}`,
      // A 429 early, then a different error at the end: still rate_limited (a 429 anywhere decides).
      '9002': `Experiment: far\nCheckpoint: 2\nHfHubHTTPError: 429 Client Error: Too Many Requests\n${evalOutput}ValueError: boom\n${done(1)}`,
      // A timeout at the end but a 429 earlier: rate_limited wins.
      '9003': `Experiment: far\nCheckpoint: 3\nHfHubHTTPError: 429 Client Error\n${evalOutput}RequestTimeout: Your socket connection\n${done(1)}`,
      // Still running: an upload early, a long conversion after.
      '9004': `Experiment: far\nCheckpoint: 4\nSuccessfully uploaded neox to org/far-running\n${evalOutput}`,
      // A long banner before the Experiment line: found past the first block.
      '9006': `${'module load cuda/12.4 nccl/2.21 python/3.11 # banner\n'.repeat(300)}Experiment: banner\nCheckpoint: 6\nSuccessfully uploaded m to org/banner\n${done(0)}`,
      // Failed with only a timeout: timeout.
      '9005': `Experiment: far\nCheckpoint: 5\n${evalOutput}RequestTimeout: Your socket connection\n${done(1)}`,
    };
    const t = new Date('2026-11-28T08:00:00Z');
    for (const [id, text] of Object.entries(logs)) {
      const p = join(dir, `checkpoint_pipeline_${id}.out`);
      await writeFile(p, text);
      await utimes(p, t, t);
    }
    await mkdir(join(dir, 'checkpoint_pipeline'), { recursive: true }).catch(() => {});
    const source = await localSource(dir);
    expect(source.dir).toBe(dir);
    const report = await source.report({
      since: new Date('2026-11-28T00:00:00Z'),
      until: new Date('2026-11-29T00:00:00Z'),
    });
    expect(report.reply.data).toStrictEqual({
      experiments: {
        far: {
          completed: 4,
          succeeded: 1,
          failed: 3,
          running: 1,
          successRate: 0.25,
          failures: { rate_limited: 2, timeout: 1, other: 0 },
        },
        banner: {
          completed: 1,
          succeeded: 1,
          failed: 0,
          running: 0,
          successRate: 1,
          failures: { rate_limited: 0, timeout: 0, other: 0 },
        },
      },
      uploadedRepos: ['org/banner', 'org/far-evaluated', 'org/far-running'],
    });
    // Only the lines that matter crossed over, never the 110 KB logs.
    expect(report.sweep.bytesReturned).toBeLessThan(3000);
    await expect(access(join(process.cwd(), 'pwned'))).rejects.toThrow();
    await expect(access(join(dir, 'pwned'))).rejects.toThrow();
  });
});

describe('the two cluster-side engines (perl where present, GNU tools otherwise)', () => {
  const sweepWith = async (dir: string, engine: ScanEngine, shards?: number) => {
    const scanner = new LogSweeper({
      scanner: new PipelineScanner(new LocalTransport(), { engine, ...(shards ? { shards } : {}) }),
      store: new MemoryScanStore(),
    });
    const r = await scanner.sweep(dir);
    return [...r.records].sort((a, b) => (a.name < b.name ? -1 : 1));
  };
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'digest-engines-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('read every outcome of the known-truth directory identically', async () => {
    const g = await generatePipelineDir(join(root, 'truth'));
    const perl = await sweepWith(g.dir, 'perl');
    const gnu = await sweepWith(g.dir, 'gnu');
    expect(gnu).toStrictEqual(perl);
    const period = { since: g.since, until: g.until };
    expect(computeDigest(gnu, period).json).toStrictEqual(g.expected);
    expect(computeDigest(perl, period).json).toStrictEqual(g.expected);
  });

  it("keep each log's lines its own across thousands of logs (where xargs starts a new head/tail)", async () => {
    // Long (array-job) names fill xargs' 128 KiB command line after ~1,000 logs, and each first 4 KB ends
    // mid-line: unless each batch ends on a newline, that cut swallows the next batch's first header and
    // gives its lines to the log before (harmless to the counts only while that log has an Experiment and a
    // Checkpoint line of its own).
    const dir = join(root, 'many');
    await mkdir(dir);
    const n = 2500;
    const filler = `${'x'.repeat(69)}\n`.repeat(60); // 4,200 bytes: the head window ends inside it
    const id = (i: number) => `${String(i).padStart(60, '0')}_${String(i).padStart(40, '0')}`;
    const index = new Map(Array.from({ length: n }, (_, i) => [id(i), i]));
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        writeFile(
          join(dir, `checkpoint_pipeline_${id(i)}.out`),
          `Experiment: exp-${i}\n${i % 2 === 0 ? `Checkpoint: ${i}\n` : ''}${filler}` +
            `Successfully uploaded m to org/r${i}\n` +
            `Pipeline completed at Sat Nov 28 08:00:00 UTC 2026 with exit code ${i % 5 === 0 ? 1 : 0}\n`,
        ),
      ),
    );
    for (const engine of ['perl', 'gnu'] as const) {
      // Straight from the script: every log gets exactly its own head lines back.
      const res = await new LocalTransport().runScript(PIPELINE_SCAN, scanOperands(dir, 1, engine), {
        input: '',
        maxOutputBytes: 64 * 1024 * 1024,
      });
      expect(res.exitCode).toBe(0);
      const out = parseScanOutput(res.stdout);
      expect(out.changed).toHaveLength(n);
      const foreign = out.changed.filter((f) => {
        const i = index.get(f.name.slice('checkpoint_pipeline_'.length, -'.out'.length)) ?? -1;
        return f.lines.filter((l) => l.startsWith('Experiment:')).join() !== `Experiment: exp-${i}`;
      });
      expect(foreign.map((f) => f.name).slice(0, 3), engine).toEqual([]);

      const recs = await sweepWith(dir, engine, 1);
      expect(recs).toHaveLength(n);
      const wrong = recs.filter((r) => {
        const i = index.get(r.run.jobId ?? '') ?? -1;
        return (
          r.run.experiment !== `exp-${i}` ||
          r.run.step !== (i % 2 === 0 ? i : null) ||
          r.run.outcome !== (i % 5 === 0 ? 'failed' : 'succeeded') ||
          r.run.uploadedRepos.join() !== `org/r${i}`
        );
      });
      expect(wrong.map((r) => r.name).slice(0, 3), engine).toEqual([]);
    }
  });
});
