import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncFiles, syncFiles } from '../../../src/node-fs.js';
import { LogFileError, scanLogFile } from '../../../src/training/scan-log-file.js';

// `chatops train scan-log` reads a local log in 1 MiB chunks: a line, or a character, that straddles two
// chunks must read as one.

const MIB = 1024 * 1024;
const iteration = (n: number) =>
  ` samples/sec: 37.509 | iteration ${String(n).padStart(8)}/     100 | elapsed time per iteration (ms): 2730.4 | learning rate: 4.196E-07 | lm_loss: 1.0${n}E+01 | number of skipped iterations:   0 | number of nan iterations:   0 |`;

describe('scanLogFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scan-log-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['asyncFiles', asyncFiles],
    ['syncFiles', syncFiles],
  ] as const)(
    'reads a log larger than a chunk, with a line and a two-byte character across the boundary (%s)',
    async (_name, files) => {
      const head = `training ...\n${iteration(1)}\n`;
      const oom = 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (é)';
      // Padding so the first byte of "é" (two bytes in UTF-8) is the last byte of the first chunk.
      const before = Buffer.byteLength(head) + Buffer.byteLength(oom.slice(0, oom.indexOf('é')));
      const pad = `${'x'.repeat(MIB - before - 2)}\n`;
      const text = `${head}${pad}${oom}\n${iteration(2)}\n`;
      expect(
        Buffer.from(text)
          .subarray(MIB - 1, MIB + 1)
          .toString(),
      ).toBe('é');
      const file = join(dir, 'big.out');
      await writeFile(file, text);
      const r = await scanLogFile(file, files);
      expect(r.lastIteration).toBe(2);
      expect(r.iterationsLogged).toBe(2);
      expect(r.findings.map((f) => f.kind)).toEqual(['cuda_oom']);
      expect(r.findings[0]?.line).toBe(4);
      expect(r.findings[0]?.excerpt.split('\n').at(-1)).toBe(oom);
    },
  );

  it.each([
    ['asyncFiles', asyncFiles],
    ['syncFiles', syncFiles],
  ] as const)('names a missing file and a directory as what they are (%s)', async (_name, files) => {
    await expect(scanLogFile(join(dir, 'nope.out'), files)).rejects.toThrow(
      new LogFileError(`${join(dir, 'nope.out')} does not exist`),
    );
    await expect(scanLogFile(dir, files)).rejects.toThrow(new LogFileError(`${dir} is not a regular file`));
  });
});
