import { describe, expect, it } from 'vitest';
import {
  checkpointRoot,
  parseCheckpointSizes,
  parseCheckpointTree,
} from '../../../src/cluster/checkpoint-files.js';
import { ClusterError } from '../../../src/errors.js';

describe('parseCheckpointSizes', () => {
  it('reads du lines after @@ok@@, sorted by step, skipping what is not global_step<N>', () => {
    const out = '@@ok@@\n8192\t/b/exp/global_step200\n4096\t/b/exp/global_step100\n12\t/b/exp/global_step*\n';
    expect(parseCheckpointSizes(out)).toEqual({
      kind: 'ok',
      checkpoints: [
        { step: 100, bytes: 4096 },
        { step: 200, bytes: 8192 },
      ],
    });
    expect(parseCheckpointSizes('@@ok@@\n')).toEqual({ kind: 'ok', checkpoints: [] });
  });
  it('reads the two missing cases', () => {
    expect(parseCheckpointSizes('@@noexp@@\na\nb\n')).toEqual({
      kind: 'missing-experiment',
      names: ['a', 'b'],
    });
    expect(parseCheckpointSizes('@@nobase@@\n')).toEqual({ kind: 'missing-base' });
  });
  it('takes anything else for the cluster failing, with its exit code and stderr', () => {
    expect(() => parseCheckpointSizes('', 127, 'sh: not found')).toThrow(
      /listing checkpoints failed \(exit 127\): sh: not found/,
    );
    expect(() => parseCheckpointSizes('', 1, 'boom')).toThrow(ClusterError);
  });
});

describe('parseCheckpointTree', () => {
  it('reads <experiment>/global_step<N> lines and skips the rest', () => {
    const out =
      'exp-a/global_step100\nexp-a/global_step_tmp\nexp b/global_step7\n\na/b/global_step1\nexp-a/global_step20\n';
    expect(parseCheckpointTree(out)).toEqual([
      { experiment: 'exp-a', step: 100 },
      { experiment: 'exp b', step: 7 },
      { experiment: 'exp-a', step: 20 },
    ]);
  });
});

describe('checkpointRoot', () => {
  it('drops trailing slashes but keeps the root', () => {
    expect(checkpointRoot('/a/b//')).toBe('/a/b');
    expect(checkpointRoot('/a/b')).toBe('/a/b');
    expect(checkpointRoot('///')).toBe('/');
  });
});
