import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dispatchText } from '../../../commands/core/dispatch.js';
import { cliUser, commandDeps, slackUser } from '../../helpers/command-deps.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'neox');

describe('chatops train scan-log <file> --json', () => {
  it('returns exactly the documented JSON shape as data', async () => {
    const reply = await dispatchText(
      commandDeps(),
      cliUser(),
      'train',
      `scan-log ${join(FIXTURES, 'cuda_oom.log')}`,
    );
    expect(Object.keys(reply.data as object).sort()).toEqual(
      ['findings', 'iterationsLogged', 'lastIteration', 'lastLoss', 'trainIters'].sort(),
    );
    expect(reply.data).toEqual({
      lastIteration: 3,
      trainIters: 143000,
      iterationsLogged: 3,
      lastLoss: expect.any(Number),
      findings: [
        {
          kind: 'cuda_oom',
          action: 'escalate',
          line: 64,
          excerpt: expect.stringMatching(/^torch\.OutOfMemoryError: CUDA out of memory/),
        },
      ],
    });
    expect(reply.level).toBe('warn');
  });

  it('a healthy log: no findings', async () => {
    const reply = await dispatchText(
      commandDeps(),
      cliUser(),
      'train',
      `scan-log ${join(FIXTURES, 'healthy-basic.log')}`,
    );
    expect(reply.data).toMatchObject({ lastIteration: 60, iterationsLogged: 60, findings: [] });
    expect(reply.text).toMatch(/No findings/);
  });

  it('a missing file is a clear error with the usage line', async () => {
    const reply = await dispatchText(commandDeps(), cliUser(), 'train', 'scan-log /nonexistent/x.out');
    expect(reply.level).toBe('error');
    expect(reply.text).toMatch(/does not exist/);
    expect(reply.context?.join(' ')).toMatch(/scan-log <file>/);
  });

  it('is not available from Slack (it reads local files)', async () => {
    const reply = await dispatchText(
      commandDeps(),
      slackUser(),
      'train',
      `scan-log ${join(FIXTURES, 'cuda_oom.log')}`,
    );
    expect(reply.level).toBe('error');
    expect(reply.data).not.toHaveProperty('findings');
  });
});
