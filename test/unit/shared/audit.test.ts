import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuditLog,
  AuditUnavailable,
  InvocationRecorder,
  redactSecrets,
  withInvocation,
} from '../../../src/audit.js';
import { auditingTransport } from '../../../src/cluster/audited-transport.js';
import { limitedTransport } from '../../../src/cluster/limited-transport.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { asyncFiles, syncFiles } from '../../../src/node-fs.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

describe('audit log', () => {
  // syncFiles: how a one-shot CLI process writes its records; the bot and the console use asyncFiles.
  it.each([
    ['asyncFiles', asyncFiles],
    ['syncFiles', syncFiles],
  ] as const)(
    'appends one JSON line per record, creating the directory, without secrets (%s)',
    async (_name, files) => {
      const dir = await mkdtemp(join(tmpdir(), 'audit-'));
      const recorded = recordingLogger();
      const log = new AuditLog(join(dir, 'nested', 'audit.jsonl'), recorded, { files });
      const logged = () => recorded.lines.filter((l) => l.level === 'info').map((l) => l.obj);
      const base = {
        time: '2026-11-28T00:00:00.000Z',
        user: 'U0A',
        source: 'slack' as const,
        outcome: 'ok' as const,
        durationMs: 1,
      };
      await Promise.all([
        log.write({ ...base, command: '/ckpt upload exp --token hf_abcdefghijklmnop', argv: [] }),
        log.write({
          ...base,
          command: '/train submit x',
          argv: [['sbatch', '--export=ALL,HF_TOKEN=hf_secretsecret,SEED=1', 'x']],
        }),
        log.write({ ...base, command: 'paste xoxb-1234-5678-abcdef', argv: [] }),
      ]);
      const lines = (await readFile(join(dir, 'nested', 'audit.jsonl'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(3);
      const text = lines.join('\n');
      expect(text).not.toMatch(/hf_abcdefghijklmnop|hf_secretsecret|xoxb-1234/);
      expect(JSON.parse(lines[1] as string).argv).toEqual([
        ['sbatch', '--export=ALL,HF_TOKEN=[redacted],SEED=1', 'x'],
      ]);
      expect(logged()).toHaveLength(3);
      expect(JSON.stringify(logged())).not.toContain('hf_secretsecret');
    },
  );

  it.each([
    ['asyncFiles', asyncFiles],
    ['syncFiles', syncFiles],
  ] as const)(
    'rejects a `started` record the disk cannot take, and still answers (logs) an outcome record (%s)',
    async (_name, files) => {
      const recorded = recordingLogger();
      // /dev/full: every write fails with ENOSPC, as on a full disk.
      const log = new AuditLog('/dev/full', recorded, { files });
      await log.open();
      const rec = {
        time: '2026-11-28T00:00:00.000Z',
        user: 'U0A',
        source: 'slack' as const,
        command: '/train cancel 12',
        argv: [],
        durationMs: 0,
      };
      await expect(log.begin({ ...rec, outcome: 'started' })).rejects.toBeInstanceOf(AuditUnavailable);
      await expect(log.begin({ ...rec, outcome: 'started' })).rejects.toThrow(/\/dev\/full: .*ENOSPC/);
      await expect(log.write({ ...rec, outcome: 'refused' })).resolves.toBeUndefined();
      expect(recorded.lines.filter((l) => l.level === 'error')).toHaveLength(3);
      // A writable file takes the next record: one failure does not stop the chain.
      const dir = await mkdtemp(join(tmpdir(), 'audit-ok-'));
      const good = new AuditLog(join(dir, 'a.jsonl'), recorded, { files });
      await good.begin({ ...rec, outcome: 'started' });
      expect(JSON.parse(await readFile(join(dir, 'a.jsonl'), 'utf8')).outcome).toBe('started');
    },
  );

  it('attributes every argv run through the wrapped transport to the current invocation', async () => {
    const t = auditingTransport(new LocalTransport());
    const a = new InvocationRecorder();
    const b = new InvocationRecorder();
    await Promise.all([
      withInvocation(a, async () => {
        await t.run(['true']);
        await t.run(['echo', 'a']);
      }),
      withInvocation(b, () => t.run(['echo', 'b'])),
    ]);
    expect(a.argvs).toEqual([['true'], ['echo', 'a']]);
    expect(b.argvs).toEqual([['echo', 'b']]);
  });

  it('records a remote program as its name and operands through the stack the wiring builds', async () => {
    // Audited over limited over the real transport.
    const t = auditingTransport(limitedTransport(new LocalTransport(), 2));
    const script = { name: 'probe.sh', interpreter: 'sh', body: 'echo "$1"\n' } as const;
    const a = new InvocationRecorder();
    const r = await withInvocation(a, () => t.runScript(script, ['x y']));
    expect(r.stdout).toBe('x y\n');
    expect(a.argvs).toEqual([['sh', 'probe.sh', 'x y']]);
  });

  it('redacts tokens in free text', () => {
    expect(redactSecrets('x SLACK_BOT_TOKEN=xoxb-1-2 y')).toBe('x SLACK_BOT_TOKEN=[redacted] y');
    expect(redactSecrets('xapp-1-A0-123')).toBe('xapp-[redacted]');
    expect(redactSecrets('plain text, nothing secret')).toBe('plain text, nothing secret');
  });
});

describe('limitedTransport', () => {
  it('runs at most N commands at once and refuses queued ones on close', async () => {
    const t = limitedTransport(new LocalTransport(), 2);
    const started = Date.now();
    const runs = [1, 2, 3, 4].map(() => t.run(['sleep', '0.3']));
    expect(t.waiting).toBe(2);
    await Promise.all(runs);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    const a = t.run(['sleep', '0.3']);
    const b = t.run(['sleep', '0.3']);
    const c = t.run(['sleep', '0.3']);
    await t.close();
    await expect(c).rejects.toThrow(/shutting down; nothing was run/);
    await Promise.allSettled([a, b]);
  });
});
