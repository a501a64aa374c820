import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClusterFiles } from '../../../src/cluster/cluster-files.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { LogReadBatcher } from '../../../src/cluster/log-read-batcher.js';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import { CountingTransport as Counting } from '../../helpers/counting-transport.js';

const tb = inject('testbed');
let dir: string;
let ssh: SshTransport;

beforeAll(async () => {
  dir = await mkdtemp(join(tb.dir, 'logread-'));
  ssh = new SshTransport({
    host: tb.ssh.host,
    port: tb.ssh.port,
    username: tb.ssh.user,
    keyPath: tb.ssh.keyPath,
    knownHostsPath: tb.ssh.knownHostsPath,
  });
});
afterAll(async () => {
  await ssh?.close();
});

describe('reading logs from a byte offset on the cluster', () => {
  it.each(['perl', 'sh'] as const)(
    '%s: one remote command for many logs, exact bytes, odd names',
    async (interpreter) => {
      const names = ['plain.out', 'with space.out', 'quote\'and"dq.out', '$(touch pwned).out', 'utf8-é.out'];
      const files = names.map((n) => join(dir, `${interpreter}-${n}`));
      for (const f of files) await writeFile(f, 'line one\nline twö\npartial');
      const save = join(dir, `${interpreter}-save dir`);
      await mkdir(join(save, 'global_step20'), { recursive: true });
      const t = new Counting(ssh);
      const b = new LogReadBatcher(t, { interpreter });
      const res = await Promise.all([
        ...files.map((file) => b.read({ file, offset: 5 })),
        b.read({ file: join(dir, 'missing.out'), offset: 0 }),
        b.read({ file: files[0] ?? '', offset: 1000, save }),
      ]);
      expect(t.calls.length).toBe(1);
      for (const r of res.slice(0, files.length)) {
        expect(r).toMatchObject({
          status: 'ok',
          start: 5,
          bytes: Buffer.byteLength('line one\nline twö\npartial') - 5,
          text: 'one\nline twö\npartial',
          checkpoint: null,
        });
      }
      expect(res[files.length]).toEqual({ status: 'missing' });
      // an offset past the end (the file was truncated): read from 0
      expect(res[files.length + 1]).toMatchObject({
        status: 'ok',
        start: 0,
        text: 'line one\nline twö\npartial',
        checkpoint: 'global_step20',
      });
      await expect(import('node:fs/promises').then((fs) => fs.access(join(dir, 'pwned')))).rejects.toThrow();
    },
  );

  it('caps one read and continues from the new offset next time; agrees with the single-log reader', async () => {
    const f = join(dir, 'big.out');
    await writeFile(f, 'a'.repeat(1000));
    const b = new LogReadBatcher(ssh, { maxBytesPerFile: 300 });
    const first = await b.read({ file: f, offset: 0 });
    expect(first).toMatchObject({ status: 'ok', start: 0, bytes: 300, size: 1000 });
    await appendFile(f, 'b'.repeat(10));
    const single = await new ClusterFiles(new LocalTransport()).readLogChunk({
      file: f,
      offset: 300,
      maxBytes: 2000,
    });
    const batched = await b.read({ file: f, offset: 300, maxBytes: 2000 });
    expect(single).toMatchObject({ status: 'ok', start: 300, bytes: 710, size: 1010 });
    expect(batched).toMatchObject({ status: 'ok', start: 300, bytes: 710, size: 1010 });
    expect(batched.status === 'ok' && batched.text).toBe(single.status === 'ok' && single.text);
    const files = new ClusterFiles(ssh);
    expect(await files.tailLog(f, 1, 5)).toBe('bbbbb');
    expect(await files.tailLog(join(dir, 'nope.out'), 5)).toBeNull();
  });

  it('without perl on the cluster, falls back to read-logs.sh once and stays there', async () => {
    // A PATH holding only what read-logs.sh needs: `perl` is not found.
    const bin = await mkdtemp(join(tb.dir, 'noperl-'));
    for (const p of ['sh', 'stat', 'tail', 'head', 'base64'])
      await symlink(execFileSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).trim(), join(bin, p));
    const f = join(dir, 'noperl.out');
    await writeFile(f, 'iteration 1\n');
    const t = new Counting(new LocalTransport({ env: { PATH: bin } }));
    const b = new LogReadBatcher(t);
    expect(await b.read({ file: f, offset: 0 })).toMatchObject({ status: 'ok', text: 'iteration 1\n' });
    expect(await b.read({ file: f, offset: 10 })).toMatchObject({ status: 'ok', start: 10, text: '1\n' });
    expect(t.calls.map((c) => c.slice(0, 2))).toEqual([
      ['perl', 'read-logs.pl'],
      ['sh', 'read-logs.sh'],
      ['sh', 'read-logs.sh'],
    ]);
    expect(b.stats.calls).toBe(2);
  });
});
