import { chmod, mkdtemp, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { PIPELINE_SCAN, type ScanEngine, scanOperands } from '../../../src/cluster/pipeline-scanner.js';
import { loadRemoteScript } from '../../../src/cluster/remote-script.js';

// remote/pipeline-scan.sh and remote/scan-worker.pl run as the transports run them, on small directories
// whose every record is known.

const tb = inject('testbed');
const MTIME = new Date('2026-11-28T08:00:00Z');
const T = '1795852800.0000000000'; // find's %T@ of MTIME
const done = (code: number) => `Pipeline completed at Sat Nov 28 08:00:00 UTC 2026 with exit code ${code}`;
const evalLines = 'eval: task hellaswag batch 17 acc=0.291 acc_norm=0.318\n'.repeat(100); // 5.5 KB

/** Four logs, one for each way the windows answer, and a file the scan must not list. */
const LOGS: Record<string, string> = {
  // Succeeded, its upload in the last 4 KB: the windows answer.
  checkpoint_pipeline_11: `Experiment: e\nCheckpoint: 1\nSuccessfully uploaded m to org/r1\n${done(0)}\n`,
  // Failed with a 429 early and a timeout at the end: read whole, the 429 decides.
  checkpoint_pipeline_12: `Experiment: e\nCheckpoint: 2\nHfHubHTTPError: 429 Client Error\n${evalLines}RequestTimeout: socket\n==> not a header\n${done(1)}\n`,
  // Still running: read whole (its upload is far from the end).
  checkpoint_pipeline_13: `Experiment: e\nCheckpoint: 3\nSuccessfully uploaded neox to org/r3\n${evalLines}`,
  // A banner longer than 4 KB before the Experiment line: looked for further.
  checkpoint_pipeline_14_2: `${'module load cuda # banner\n'.repeat(200)}Experiment: b\nCheckpoint: 4\nSuccessfully uploaded m to org/r4\n${done(0)}\n`,
};

const FIRST_SWEEP = [
  `F\tcheckpoint_pipeline_11.out\t${LOGS.checkpoint_pipeline_11?.length}\t${T}`,
  `F\tcheckpoint_pipeline_12.out\t${LOGS.checkpoint_pipeline_12?.length}\t${T}`,
  `F\tcheckpoint_pipeline_13.out\t${LOGS.checkpoint_pipeline_13?.length}\t${T}`,
  `F\tcheckpoint_pipeline_14_2.out\t${LOGS.checkpoint_pipeline_14_2?.length}\t${T}`,
  '@@T',
  'H\t11\tExperiment: e',
  'H\t11\tCheckpoint: 1',
  'T\t11\tExperiment: e',
  'T\t11\tCheckpoint: 1',
  'T\t11\tSuccessfully uploaded m to org/r1',
  `T\t11\t${done(0)}`,
  'H\t12\tExperiment: e',
  'H\t12\tCheckpoint: 2',
  'T\t12\tRequestTimeout: socket',
  `T\t12\t${done(1)}`,
  'X\tcheckpoint_pipeline_12.out',
  'H\t13\tExperiment: e',
  'H\t13\tCheckpoint: 3',
  'X\tcheckpoint_pipeline_13.out',
  'T\t14_2\tExperiment: b',
  'T\t14_2\tCheckpoint: 4',
  'T\t14_2\tSuccessfully uploaded m to org/r4',
  `T\t14_2\t${done(0)}`,
  '@@C',
  'checkpoint_pipeline_12.out:HfHubHTTPError: 429 Client Error',
  'checkpoint_pipeline_12.out:RequestTimeout: socket',
  'checkpoint_pipeline_13.out:Successfully uploaded neox to org/r3',
  'checkpoint_pipeline_14_2.out:Experiment: b',
  'checkpoint_pipeline_14_2.out:Checkpoint: 4',
];

async function logDir(): Promise<string> {
  const dir = await mkdtemp(join(tb.dir, 'scan-'));
  for (const [name, text] of Object.entries(LOGS)) {
    const p = join(dir, `${name}.out`);
    await writeFile(p, text);
    await utimes(p, MTIME, MTIME);
  }
  await writeFile(join(dir, 'checkpoint_pipeline_15.err'), `${done(1)}\n`);
  await utimes(dir, MTIME, MTIME);
  return dir;
}

/**
 * The records in a fixed order: logs come in directory order, so within each section they are put in job-id
 * order, each log's own records keeping theirs.
 */
function byLog(lines: readonly string[]): string[] {
  const id = (rec: string) => {
    const name =
      rec.includes(':') && !rec.includes('\t') ? rec.slice(0, rec.indexOf(':')) : rec.split('\t')[1];
    return (name ?? '').replace(/^checkpoint_pipeline_/, '').replace(/\.out$/, '');
  };
  const out: string[] = [];
  let section: string[] = [];
  const flush = () => out.push(...section.sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0)));
  for (const l of lines) {
    if (l === '@@T' || l === '@@C') {
      flush();
      section = [];
      out.push(l);
    } else section.push(l);
  }
  flush();
  return out;
}

/** Runs the scan; the M record is checked and dropped, the rest returned as lines in byLog order. */
async function scan(
  dir: string,
  engine: ScanEngine,
  opts: { input?: string; shards?: number; transport?: LocalTransport } = {},
) {
  const t = opts.transport ?? new LocalTransport();
  const r = await t.runScript(PIPELINE_SCAN, scanOperands(dir, opts.shards ?? 1, engine), {
    input: opts.input ?? '',
  });
  const lines = r.stdout.split('\n');
  if (r.exitCode === 0) {
    expect(lines[0]).toMatch(new RegExp(`^M\\t${T.replace('.', '\\.')}\\t\\d{10}$`));
    expect(lines.pop()).toBe('');
    lines.shift();
  }
  return { exitCode: r.exitCode, lines: byLog(lines), stderr: r.stderr };
}

/** A directory of programs to put first on PATH. */
async function binWith(programs: Record<string, string>): Promise<string> {
  const bin = await mkdtemp(join(tb.dir, 'bin-'));
  for (const [name, body] of Object.entries(programs)) {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  }
  return bin;
}

/** A PATH with every command this machine has except perl. */
async function pathWithoutPerl(): Promise<string> {
  const bin = await mkdtemp(join(tb.dir, 'bin-'));
  for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) {
    for (const n of await readdir(d).catch(() => [] as string[])) {
      if (n.startsWith('perl')) continue;
      await symlink(join(d, n), join(bin, n)).catch(() => {});
    }
  }
  return bin;
}

describe('pipeline-scan.sh', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await logDir();
  });

  it.each(['perl', 'gnu'] as const)('prints every record of a first sweep (%s engine)', async (engine) => {
    const r = await scan(dir, engine);
    expect(r.exitCode).toBe(0);
    expect(r.lines).toEqual(FIRST_SWEEP);
  });

  it('gives the same records from both engines and any number of workers', async () => {
    for (const shards of [2, 3, 7]) {
      for (const engine of ['perl', 'gnu'] as const) {
        const r = await scan(dir, engine, { shards });
        expect(r.exitCode).toBe(0);
        expect(r.lines, `${engine} ${shards}`).toEqual(FIRST_SWEEP);
      }
    }
  });

  it('with the known list on stdin, reads only what changed and names what is gone', async () => {
    const size = (n: string) => LOGS[n]?.length;
    const known =
      `checkpoint_pipeline_11.out ${size('checkpoint_pipeline_11')} ${T}\n` +
      `checkpoint_pipeline_12.out ${size('checkpoint_pipeline_12')} ${T}\n` +
      `checkpoint_pipeline_14_2.out ${size('checkpoint_pipeline_14_2')} ${T}\n` +
      `checkpoint_pipeline_13.out 10 ${T}\n` + // it grew since
      `checkpoint_pipeline_9.out 100 ${T}\n`;
    for (const engine of ['perl', 'gnu'] as const) {
      const r = await scan(dir, engine, { input: known });
      expect(r.exitCode).toBe(0);
      expect(r.lines, engine).toEqual([
        `F\tcheckpoint_pipeline_13.out\t${size('checkpoint_pipeline_13')}\t${T}`,
        'D\tcheckpoint_pipeline_9.out',
        '@@T',
        'H\t13\tExperiment: e',
        'H\t13\tCheckpoint: 3',
        'X\tcheckpoint_pipeline_13.out',
        '@@C',
        'checkpoint_pipeline_13.out:Successfully uploaded neox to org/r3',
      ]);
    }
    // Everything known: only the directory's mtime comes back.
    const all = Object.keys(LOGS)
      .map((n) => `${n}.out ${size(n)} ${T}\n`)
      .join('');
    expect((await scan(dir, 'auto', { input: all })).lines).toEqual([]);
  });

  it('exits 3 for a directory it cannot enter, 2 for bad operands', async () => {
    expect((await scan(join(dir, 'nope'), 'auto')).exitCode).toBe(3);
    const t = new LocalTransport();
    const ops = scanOperands(dir, 1, 'gnu');
    for (const bad of [
      ops.with(1, '0'),
      ops.with(1, '65'),
      ops.with(2, 'awk'),
      ops.with(4, ''),
      ops.slice(0, 5),
    ]) {
      const r = await t.runScript(PIPELINE_SCAN, bad, { input: '' });
      expect(r, bad.join(' ')).toMatchObject({ exitCode: 2, stdout: '' });
    }
  });

  it('exits 6 when told to use perl on a host without it; auto then reads with GNU tools', async () => {
    const t = new LocalTransport({ env: { PATH: await pathWithoutPerl() } });
    expect((await t.run(['sh', '-c', 'command -v perl || echo none'])).stdout).toBe('none\n');
    expect((await scan(dir, 'perl', { transport: t })).exitCode).toBe(6);
    const auto = await scan(dir, 'auto', { transport: t });
    expect(auto.exitCode).toBe(0);
    expect(auto.lines).toEqual(FIRST_SWEEP);
  });

  it('exits 7 when a worker fails and 8 when one is killed, printing no window records', async () => {
    const fail = new LocalTransport({
      env: { PATH: `${await binWith({ perl: 'exit 1' })}:${process.env.PATH}` },
    });
    const failed = await scan(dir, 'perl', { transport: fail, shards: 2 });
    expect(failed.exitCode).toBe(7);
    const killed = new LocalTransport({
      env: { PATH: `${await binWith({ perl: 'kill -9 "$PPID"' })}:${process.env.PATH}` },
    });
    const died = await scan(dir, 'perl', { transport: killed, shards: 2 });
    expect(died.exitCode).toBe(8);
    expect(died.lines.join('\n')).not.toContain('@@T');
  });

  describe('its work directory', () => {
    it('is a fresh mode-700 directory under TMPDIR, named by mktemp, and gone after the scan', async () => {
      const tmp = await mkdtemp(join(tb.dir, 'tmpdir-'));
      const seen = join(tb.dir, `seen-${process.pid}-${Date.now()}`);
      // A perl that notes the mode and name of the directory its list files are in, then does the real work.
      const bin = await binWith({
        perl: `stat -c '%a %n' "$(dirname "$4")" >> '${seen}'; exec /usr/bin/perl "$@"`,
      });
      const t = new LocalTransport({ env: { TMPDIR: tmp, PATH: `${bin}:${process.env.PATH}` } });
      const r = await scan(dir, 'perl', { transport: t, shards: 2 });
      expect(r.exitCode).toBe(0);
      const noted = (await readFile(seen, 'utf8')).trim().split('\n');
      expect(noted, noted.join(' | ')).toHaveLength(2);
      for (const line of noted) expect(line).toMatch(/^700 .*\/slurm-chatops-scan\.[A-Za-z0-9]{8}$/);
      expect(await readdir(tmp)).toEqual([]);
      // Nothing changed: the directory is made and removed, no file written.
      const all = Object.keys(LOGS)
        .map((n) => `${n}.out ${LOGS[n]?.length} ${T}\n`)
        .join('');
      const again = await scan(dir, 'gnu', { transport: t, input: all });
      expect(again.exitCode).toBe(0);
      expect(await readdir(tmp)).toEqual([]);
    });

    it('exits 4, reading nothing, when no private directory can be made', async () => {
      const t = new LocalTransport({ env: { TMPDIR: join(tb.dir, 'no-such-tmpdir') } });
      const r = await scan(dir, 'gnu', { transport: t });
      expect(r.exitCode).toBe(4);
      expect(r.lines.join('\n')).not.toMatch(/^F\t/m);
    });
  });
});

describe('scan-worker.pl', () => {
  it('reads the windows of the logs on stdin and writes its two lists', async () => {
    const dir = await logDir();
    const [, , , head, tail] = scanOperands(dir, 1, 'perl');
    const x = join(tb.dir, `x-${process.pid}-${Date.now()}`);
    const h = `${x}.h`;
    const t = new LocalTransport({ cwd: dir });
    const input = Object.keys(LOGS)
      .map((n) => `${n}.out ${LOGS[n]?.length}\n`)
      .join('');
    const r = await t.runScript(loadRemoteScript('scan-worker.pl'), [x, h, head ?? '', tail ?? ''], {
      input: `${input}checkpoint_pipeline_404.out 1\n`,
    });
    expect(r).toMatchObject({ exitCode: 0, stderr: '' });
    const from = FIRST_SWEEP.indexOf('@@T') + 1;
    expect(r.stdout).toBe(`${FIRST_SWEEP.slice(from, FIRST_SWEEP.indexOf('@@C')).join('\n')}\n`);
    expect(await readFile(x, 'utf8')).toBe('checkpoint_pipeline_12.out\ncheckpoint_pipeline_13.out\n');
    expect(await readFile(h, 'utf8')).toBe('checkpoint_pipeline_14_2.out\n');
  });

  it('exits 2 without its four operands', async () => {
    const r = await new LocalTransport().runScript(loadRemoteScript('scan-worker.pl'), ['a', 'b'], {
      input: '',
    });
    expect(r.exitCode).toBe(2);
  });
});
