import { access, mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterFiles } from '../../../src/cluster/cluster-files.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';

// read-logs.sh / read-logs.pl, tail-log.sh and file-mtimes.sh run as the cluster runs them,
// on a fixture directory. Names are relative to the transport's cwd, so operands start with a dash, hold
// spaces, quotes and a command substitution.

const READ_LOGS_SH = loadRemoteScript('read-logs.sh');
const READ_LOGS_PL = loadRemoteScript('read-logs.pl');
const TAIL_LOG = loadRemoteScript('tail-log.sh');
const FILE_MTIMES = loadRemoteScript('file-mtimes.sh');
const HOSTILE = ['-lead dash.out', 'with space.out', `q'uo"te.out`, '$(touch pwned).out'];
const TEXT = 'line one\nline twö\npartial';
const SIZE = Buffer.byteLength(TEXT);

let work: string;
let t: LocalTransport;
const inode = async (name: string) => String((await stat(join(work, name))).ino);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'log-programs-'));
  t = new LocalTransport({ cwd: work });
  for (const name of HOSTILE) await writeFile(join(work, name), TEXT);
  await mkdir(join(work, '-save dir', 'global_step20'), { recursive: true });
  await mkdir(join(work, 'empty save'));
  await mkdir(join(work, 'a dir.out'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('ClusterFiles.readLogChunk (one log, through the batch reader)', () => {
  const read = (file: string, offset: number, maxBytes: number, save: string | null = null) =>
    new ClusterFiles(t).readLogChunk({ file, offset, save, maxBytes });

  it('reads exactly the bytes from the offset, whatever the file is called', async () => {
    for (const name of HOSTILE) {
      expect(await read(name, 5, 1000)).toEqual({
        status: 'ok',
        size: SIZE,
        inode: await inode(name),
        start: 5,
        bytes: SIZE - 5,
        text: 'one\nline twö\npartial',
        checkpoint: null,
      });
    }
    await expect(access(join(work, 'pwned'))).rejects.toThrow();
  });

  it('caps the read at maxBytes, restarts at 0 past the end, and names a checkpoint under save', async () => {
    const name = HOSTILE[0] ?? '';
    expect(await read(name, 0, 4, 'empty save')).toMatchObject({
      start: 0,
      bytes: 4,
      text: 'line',
      checkpoint: null,
    });
    expect(await read(name, 1000, 1000, '-save dir')).toMatchObject({
      start: 0,
      bytes: SIZE,
      text: TEXT,
      checkpoint: 'global_step20',
    });
    expect(await read(name, SIZE, 1000)).toMatchObject({ start: SIZE, bytes: 0, text: '' });
  });

  it('answers missing for no file or a directory', async () => {
    expect(await read('-nope.out', 0, 10)).toEqual({ status: 'missing' });
    expect(await read('a dir.out', 0, 10)).toEqual({ status: 'missing' });
  });
});

describe('read-logs.pl and read-logs.sh', () => {
  it('print the same records: a header per triple, then the bytes in base64 on one line', async () => {
    const name = HOSTILE[3] ?? '';
    await writeFile(join(work, 'empty.out'), '');
    const operands = [
      '12',
      ...[name, '5', ''],
      ...['-gone.out', '0', '-save dir'],
      ...[name, '1000', '-save dir'],
      ...['empty.out', '0', ''],
      ...['a dir.out', '0', ''],
    ];
    const ino = await inode(name);
    // 12 bytes from 5 end inside the ö: the bytes travel exactly, not the characters
    const b64 = (from: number) =>
      Buffer.from(TEXT)
        .subarray(from, from + 12)
        .toString('base64');
    const expected = [
      `@@ 0 ${SIZE} ${ino} 5 12 -`,
      b64(5),
      '@@ 1 missing',
      `@@ 2 ${SIZE} ${ino} 0 12 global_step20`,
      b64(0),
      `@@ 3 0 ${await inode('empty.out')} 0 0 -`,
      '',
      '@@ 4 missing',
      '',
    ].join('\n');
    for (const script of [READ_LOGS_PL, READ_LOGS_SH]) {
      const r = await t.runScript(script, operands);
      expect(r, script.name).toMatchObject({ exitCode: 0, stdout: expected });
    }
    await expect(access(join(work, 'pwned'))).rejects.toThrow();
  });

  it('exit 2 without operands; MAX_BYTES alone prints nothing', async () => {
    for (const script of [READ_LOGS_PL, READ_LOGS_SH]) {
      expect((await t.runScript(script, [])).exitCode, script.name).toBe(2);
      expect(await t.runScript(script, ['10']), script.name).toMatchObject({ exitCode: 0, stdout: '' });
    }
  });
});

describe('tail-log.sh', () => {
  it('prints the last LINES lines, cut to the last MAX_BYTES', async () => {
    for (const name of HOSTILE) {
      expect(await t.runScript(TAIL_LOG, [name, '2', '1000'])).toMatchObject({
        exitCode: 0,
        stdout: 'line twö\npartial',
      });
      expect((await t.runScript(TAIL_LOG, [name, '2', '4'])).stdout).toBe('tial');
    }
  });

  it('exits 3 when there is no log (or a directory), 2 for wrong operands', async () => {
    expect(await t.runScript(TAIL_LOG, ['-nope.out', '5', '100'])).toMatchObject({ exitCode: 3, stdout: '' });
    expect((await t.runScript(TAIL_LOG, ['a dir.out', '5', '100'])).exitCode).toBe(3);
    expect((await t.runScript(TAIL_LOG, ['x', '5'])).exitCode).toBe(2);
    expect(await new ClusterFiles(t).tailLog('-nope.out', 5)).toBeNull();
  });
});

describe('file-mtimes.sh', () => {
  const logs = '-training logs';
  beforeAll(async () => {
    await mkdir(join(work, logs));
    const files: [string, number][] = [
      ['neox-training-501.out', 1_700_000_000],
      ['neox-training-502.out', 1_700_000_123.5],
      [`neox-training-'q' "x".out`, 1_700_000_200],
      ['other.out', 1_700_000_300],
    ];
    for (const [name, mtime] of files) {
      await writeFile(join(work, logs, name), 'x');
      await utimes(join(work, logs, name), mtime, mtime);
    }
    await mkdir(join(work, logs, 'sub'));
    await writeFile(join(work, logs, 'sub', 'neox-training-9.out'), 'below: not listed');
  });

  it('prints NAME MTIME for each entry directly in DIR matching PATTERN', async () => {
    const r = await t.runScript(FILE_MTIMES, [logs, 'neox-training-*.out']);
    expect(r.exitCode).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    expect(rows).toEqual([
      [`neox-training-'q' "x".out`, 1_700_000_200],
      ['neox-training-501.out', 1_700_000_000],
      ['neox-training-502.out', 1_700_000_123.5],
    ]);
    // the directory itself is not one of its entries
    expect((await t.runScript(FILE_MTIMES, [logs, '*'])).stdout).not.toMatch(/^-training logs /m);
  });

  it('exits 3 for a missing directory (ClusterFiles: no files), 2 for wrong operands', async () => {
    expect(await t.runScript(FILE_MTIMES, ['-no such dir', '*'])).toMatchObject({ exitCode: 3, stdout: '' });
    expect((await t.runScript(FILE_MTIMES, [logs])).exitCode).toBe(2);
    const files = new ClusterFiles(t);
    expect(await files.modifiedTimes('-no such dir', '*.out')).toEqual(new Map());
    expect(await files.modifiedTimes(logs, 'neox-training-50*.out')).toEqual(
      new Map([
        ['neox-training-501.out', 1_700_000_000_000],
        ['neox-training-502.out', 1_700_000_123_500],
      ]),
    );
  });
});
