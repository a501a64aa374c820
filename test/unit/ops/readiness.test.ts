import { describe, expect, it } from 'vitest';
import { runReadiness } from '../../../src/ops/readiness.js';

describe('runReadiness', () => {
  it('is ready only when every check passes, each reported with its reason', async () => {
    const report = await runReadiness([
      { name: 'a', check: async () => ({ ok: true, reason: 'fine' }) },
      { name: 'b', check: async () => ({ ok: false, reason: 'down since 10:00' }) },
    ]);
    expect(report).toEqual({
      ready: false,
      checks: [
        { name: 'a', ok: true, reason: 'fine' },
        { name: 'b', ok: false, reason: 'down since 10:00' },
      ],
    });
    expect((await runReadiness([{ name: 'a', check: async () => ({ ok: true, reason: 'x' }) }])).ready).toBe(
      true,
    );
  });

  it('a check that throws or hangs is a failing one, with why', async () => {
    const report = await runReadiness(
      [
        { name: 'throws', check: async () => Promise.reject(new Error('connect ECONNREFUSED')) },
        { name: 'hangs', check: () => new Promise(() => {}) },
      ],
      50,
    );
    expect(report.checks).toEqual([
      { name: 'throws', ok: false, reason: 'connect ECONNREFUSED' },
      { name: 'hangs', ok: false, reason: 'no answer within 50 ms' },
    ]);
  });
});
