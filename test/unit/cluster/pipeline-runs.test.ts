import { describe, expect, it } from 'vitest';
import { parseLogLines, parseRecentRuns } from '../../../src/cluster/pipeline-runs.js';

describe('parseRecentRuns', () => {
  it('reads one run per ==> block with the checkpoint its lines name; other names are not runs', () => {
    const out = [
      '==> checkpoint_pipeline_11.out',
      'Experiment: exp-a',
      'Checkpoint: global_step300',
      '==> checkpoint_pipeline_12_3.out',
      'Processing checkpoint 400',
      '==> notes.txt',
      'Experiment: exp-x',
      '==> checkpoint_pipeline_13.out',
      '',
    ].join('\n');
    expect(parseRecentRuns(out)).toEqual([
      { slurmJobId: '11', experiment: 'exp-a', step: 300 },
      { slurmJobId: '12_3', experiment: null, step: 400 },
      { slurmJobId: '13', experiment: null, step: null },
    ]);
    expect(parseRecentRuns('')).toEqual([]);
  });
});

describe('parseLogLines', () => {
  it('keeps the matching lines, then the tail lines the matches do not already hold', () => {
    const out = [
      'Experiment: e',
      'Pipeline completed at x with exit code 1',
      '@@tail@@',
      'ValueError: boom',
      'Pipeline completed at x with exit code 1',
      '',
    ].join('\n');
    expect(parseLogLines(out)).toEqual([
      'Experiment: e',
      'Pipeline completed at x with exit code 1',
      'ValueError: boom',
    ]);
  });
  it('is null for @@missing@@, and all lines when the tail marker is absent', () => {
    expect(parseLogLines('@@missing@@\n')).toBeNull();
    expect(parseLogLines('a\nb\n')).toEqual(['a', 'b']);
  });
});
