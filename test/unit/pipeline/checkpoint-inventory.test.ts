import { describe, expect, it } from 'vitest';
import {
  countByExperiment,
  nearNames,
  runsByStep,
  stateFromLogs,
  uploadedRepos,
} from '../../../src/pipeline/checkpoint-inventory.js';
import type { LogRecord } from '../../../src/pipeline/digest-stats.js';
import { parsePipelineLog } from '../../../src/pipeline/pipeline-log.js';

const rec = (jobId: string, mtimeMs: number, lines: readonly string[]): LogRecord => {
  const text = `${lines.join('\n')}\n`;
  return {
    name: `checkpoint_pipeline_${jobId}.out`,
    size: text.length,
    mtimeMs,
    run: parsePipelineLog(text, { jobId }),
  };
};
const head = (experiment: string, step: number) => [
  `Experiment: ${experiment}`,
  `Checkpoint: global_step${step}`,
];
const done = (code: number) => `Pipeline completed at Sat Nov 28 10:00:00 UTC 2026 with exit code ${code}`;

const uploaded = (jobId: string, t: number, repo: string) =>
  rec(jobId, t, [...head('e', 100), `Successfully uploaded HF model to ${repo}`, done(0)]);
const limited = (jobId: string, t: number) =>
  rec(jobId, t, [
    ...head('e', 100),
    'huggingface_hub.errors.HfHubHTTPError: 429 Client Error: Too Many Requests for url',
    done(1),
  ]);
const timedOut = (jobId: string, t: number) =>
  rec(jobId, t, [...head('e', 100), 'requests.exceptions.ReadTimeout: RequestTimeout after 60 s', done(1)]);
const unfinished = (jobId: string, t: number) =>
  rec(jobId, t, [...head('e', 100), 'Converting to HF format']);

describe('countByExperiment', () => {
  it('counts checkpoints per experiment with the latest step, most checkpoints first, ties by name', () => {
    const found = [
      { experiment: 'b', step: 300 },
      { experiment: 'a', step: 200 },
      { experiment: 'c', step: 10 },
      { experiment: 'c', step: 2000 },
      { experiment: 'c', step: 100 },
    ];
    expect(countByExperiment(found)).toEqual([
      { name: 'c', checkpoints: 3, latestStep: 2000 },
      { name: 'a', checkpoints: 1, latestStep: 200 },
      { name: 'b', checkpoints: 1, latestStep: 300 },
    ]);
    expect(countByExperiment([])).toEqual([]);
  });
});

describe('runsByStep', () => {
  it("keeps one experiment's records, by the step each names, and drops records naming no step", () => {
    const a = rec('1', 1, head('e', 100));
    const b = rec('2', 2, head('e', 100));
    const c = rec('3', 3, head('e', 200));
    const other = rec('4', 4, head('e-2', 100));
    const noStep = rec('5', 5, ['Experiment: e']);
    const by = runsByStep([a, other, b, c, noStep], 'e');
    expect([...by.keys()].sort()).toEqual([100, 200]);
    expect(by.get(100)?.map((r) => r.run.jobId)).toEqual(['1', '2']);
    expect(by.get(200)?.map((r) => r.run.jobId)).toEqual(['3']);
  });
});

describe('stateFromLogs', () => {
  it('a success in any run means uploaded, even after a later failure, with every repo newest first', () => {
    const s = stateFromLogs(100, 4096, [
      uploaded('10', 1, 'org/old'),
      limited('11', 3),
      uploaded('12', 2, 'org/new'),
    ]);
    expect(s).toMatchObject({ step: 100, bytes: 4096, state: 'uploaded', cause: null });
    expect(s.repos).toEqual(['org/new', 'org/old']);
    expect(uploadedRepos([uploaded('10', 1, 'org/old'), uploaded('12', 2, 'org/new')])).toEqual([
      'org/new',
      'org/old',
    ]);
  });
  it('otherwise the newest run decides: its cause and telling line when it failed', () => {
    const s = stateFromLogs(100, 1, [timedOut('20', 1), limited('21', 2)]);
    expect(s).toMatchObject({ state: 'failed', cause: 'rate_limited', slurmJobId: '21' });
    expect(s.line).toContain('429 Client Error');
    const t = stateFromLogs(100, 1, [limited('21', 1), timedOut('22', 2)]);
    expect(t).toMatchObject({ state: 'failed', cause: 'timeout', slurmJobId: '22' });
    expect(t.line).toContain('RequestTimeout');
  });
  it('a newest log without its completion line is running; no log at all is none', () => {
    expect(stateFromLogs(100, 1, [limited('30', 1), unfinished('31', 2)])).toMatchObject({
      state: 'running',
      slurmJobId: '31',
      detail: 'log has no completion line yet',
    });
    expect(stateFromLogs(100, 1, [])).toEqual({
      step: 100,
      bytes: 1,
      state: 'none',
      repos: [],
      cause: null,
      line: null,
      slurmJobId: null,
      detail: null,
    });
  });
});

describe('nearNames', () => {
  const names = ['pythia-160m-dedup', 'pythia-410m', 'olmo-1b', 'pythia-160m', '.hidden', ''];
  it('suggests substring matches first, then names a small edit away, never hidden ones', () => {
    expect(nearNames('pythia-160m-dedupe', names)).toEqual(['pythia-160m-dedup', 'pythia-160m']);
    // Case does not matter; the substring match comes before the name three edits away.
    expect(nearNames('PYTHIA-410', names)).toEqual(['pythia-410m', 'pythia-160m']);
    expect(nearNames('hidden', names)).toEqual([]);
    expect(nearNames('zzzzzzzz', names)).toEqual([]);
  });
  it('gives at most max names', () => {
    const many = Array.from({ length: 10 }, (_, i) => `exp-${i}`);
    expect(nearNames('exp', many)).toHaveLength(5);
    expect(nearNames('exp', many, 2)).toEqual(['exp-0', 'exp-1']);
  });
});
