import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dispatchText } from '../../../commands/core/dispatch.js';
import { CODE_BUDGET, escapedLength } from '../../../commands/train/log-excerpt.js';
import { MAX_LOG_BYTES, MAX_LOG_LINES } from '../../../commands/train/spec.js';
import { type TrainingCluster, trainingCluster, waitFor } from '../../fixtures/fake-trainer-harness.js';
import { commandDeps, slackUser, type TestDeps } from '../../helpers/command-deps.js';

// `/train logs <job> N` over SSH against a real Slurm job of the sandbox trainer: N lines come back, as many
// whole last lines as fit one Slack section (after escaping) in the message, all N in an attached file.

const tb = inject('testbed');
const READER = 'U0READER';

let cluster: TrainingCluster;
let deps: TestDeps;
let jobId: string;
let logLines: string[];

beforeAll(async () => {
  cluster = await trainingCluster(tb, 'ssh');
  deps = commandDeps({ transport: cluster.transport, env: { LOGS_DIR: cluster.logsDir } });
  // 700 iteration lines, then a Python traceback (`in <module>`, which Slack must see escaped).
  const config = await cluster.config('logs-long', {
    'train-iters': 900,
    'log-interval': 1,
    fake_iter_ms: 1,
    fake_failure: 'unknown_error',
    fake_fail_at: 700,
  });
  const job = await cluster.submitRaw(config);
  jobId = job.jobId;
  const text = await waitFor(
    'the traceback in the log',
    async () => {
      const t = await readFile(job.logPath, 'utf8').catch(() => '');
      return t.includes("KeyError: 'lm_loss'") ? t : undefined;
    },
    60_000,
  );
  logLines = text.replace(/\n$/, '').split('\n');
}, 90_000);
afterAll(async () => {
  await cluster?.close();
});

const logs = (args: string) => dispatchText(deps, slackUser(READER), 'train', `logs ${args}`);

describe('/train logs <job> N', () => {
  it('returns the last 500 lines: whole last lines in the message, all 500 attached', async () => {
    expect(logLines.length).toBeGreaterThan(700);
    const r = await logs(`${jobId} 500`);
    expect(r.level).toBe('info');
    expect(r.title).toBe(`Job ${jobId}: last 500 lines`);
    const want = logLines.slice(-500);
    expect(r.files).toHaveLength(1);
    const file = r.files?.[0];
    expect(file?.content).toBe(`${want.join('\n')}\n`);
    const shown = (r.code ?? '').split('\n');
    expect(shown).toEqual(logLines.slice(-shown.length));
    expect(r.text).toBe(`Last ${shown.length} of 500 lines shown; all 500 attached (\`${file?.filename}\`).`);
    // The traceback is at the end: its `<module>` is counted escaped, and the block still fits a section
    // with its fences.
    expect(r.code).toContain('in <module>');
    expect(escapedLength(r.code ?? '')).toBeLessThanOrEqual(CODE_BUDGET);
    expect(escapedLength(`\`\`\`${r.code}\`\`\``)).toBeLessThanOrEqual(3000);
    // One more line would not have fitted.
    const oneMore = logLines.slice(-(shown.length + 1)).join('\n');
    expect(escapedLength(oneMore)).toBeGreaterThan(CODE_BUDGET);
    expect(r.data).toMatchObject({ jobId, lines: 500, shown: shown.length, capped: false });
  });

  it('a short tail fits the message: no file, no note', async () => {
    const r = await logs(`${jobId} 3`);
    expect(r.title).toBe(`Job ${jobId}: last 3 lines`);
    expect(r.code?.split('\n')).toEqual(logLines.slice(-3));
    expect(r.files).toBeUndefined();
    expect(r.text).toBeUndefined();
  });

  it('asking for more lines than the log has returns the whole log', async () => {
    const r = await logs(`${jobId} ${MAX_LOG_LINES}`);
    expect(r.title).toBe(`Job ${jobId}: last ${logLines.length} lines`);
    expect(r.files?.[0]?.content).toBe(`${logLines.join('\n')}\n`);
  });

  it(`refuses more than ${MAX_LOG_LINES} lines, with the limit`, async () => {
    const r = await logs(`${jobId} ${MAX_LOG_LINES + 1}`);
    expect(r.level).toBe('error');
    expect(r.text).toMatch(new RegExp(`at most ${MAX_LOG_LINES}`));
  });

  it('says so when the byte cap cuts, and returns only whole lines', async () => {
    // 3,000 lines of 1 KB: 3 MB, past the cap.
    const big = join(cluster.logsDir, 'training', 'neox-training-999999.out');
    const line = (i: number) => `${String(i).padStart(6, '0')} ${'x'.repeat(1017)}`;
    await writeFile(big, `${Array.from({ length: 3000 }, (_, i) => line(i)).join('\n')}\n`);
    const r = await logs('999999 3000');
    const content = r.files?.[0]?.content ?? '';
    const got = content.replace(/\n$/, '').split('\n');
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(MAX_LOG_BYTES + 1);
    expect(got.at(-1)).toBe(line(2999));
    expect(got.every((l) => l.length === 1024)).toBe(true);
    expect(r.title).toBe(`Job 999999: last ${got.length} lines`);
    expect(r.context).toContain(
      `Only the last 2 MiB of the log were read: ${got.length} whole lines of the 3000 asked for.`,
    );
    expect(r.data).toMatchObject({ capped: true });
  });

  it('a missing log is a clear error', async () => {
    const r = await logs('424242 10');
    expect(r.level).toBe('error');
    expect(r.text).toMatch(/There is no log at .*neox-training-424242\.out/);
  });
});
