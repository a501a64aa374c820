import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processesUnder, runDemo } from '../../helpers/run-demo.js';

// `npm run demo` through its real sandbox (Slurm, Redis, sshd, the local Hub), as a newcomer runs it.

const SESSION =
  '/train submit configs/demo.yml\n/ckpt upload demo --missing\nwait\n/ckpt status demo --json\n';

/** The JSON printed for the last line: the status of every `demo` checkpoint. */
function lastJson(stdout: string): { checkpoints?: { step: number; state: string }[] } {
  const at = stdout.lastIndexOf('> /ckpt status demo --json');
  const start = stdout.indexOf('{', at);
  let depth = 0;
  for (let i = start; i < stdout.length; i++) {
    if (stdout[i] === '{') depth++;
    if (stdout[i] === '}' && --depth === 0) return JSON.parse(stdout.slice(start, i + 1));
  }
  throw new Error(`no JSON after the status line:\n${stdout.slice(at, at + 2000)}`);
}

describe('npm run demo', () => {
  it('runs the piped session: the 50-iteration report, uploads through a 429 pause, every checkpoint uploaded', async () => {
    const demo = runDemo(SESSION);
    const { code, ms } = await demo.exited;
    const out = demo.output();
    expect(code, out.slice(-4000)).toBe(0);
    // The training watch's report, with losses, time per iteration, ETA and the first checkpoint.
    expect(out).toMatch(/Job \d+: 50\+ iterations completed/);
    const report = out.slice(out.search(/Job \d+: 50\+ iterations completed/));
    expect(report).toMatch(/lm_loss|loss/i);
    expect(report).toMatch(/per iteration/i);
    expect(report).toMatch(/ETA/);
    expect(out).toMatch(/global_step50/);
    expect(out).toMatch(/chart: \/\S+\.png/);
    // The local Hub refused a commit; the batch showed the pause and then went on.
    expect(out).toMatch(/rate limited; retry 1 at/);
    expect(out).toMatch(/All 6 uploads of `demo` finished: 6 uploaded, 0 failed/);
    const status = lastJson(demo.stdout());
    const states = (status.checkpoints ?? []).map((c) => `${c.step}:${c.state}`);
    expect(states).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000].map((s) => `${s}:uploaded`));
    expect(ms).toBeLessThan(240_000);
    const dir = demo.sandboxDir();
    expect(dir).not.toBeNull();
    expect(existsSync(dir ?? '/')).toBe(false);
    expect(processesUnder(dir ?? '/nonexistent')).toEqual([]);
  }, 300_000);

  it('SIGTERM in the middle of an upload stops everything it started and removes its files', async () => {
    const demo = runDemo('/ckpt upload demo --missing\nwait\n');
    await demo.waitForOutput(/state\s+detail[\s\S]*(submitted|running)\s+Slurm job/, 90_000);
    const dir = demo.sandboxDir();
    expect(dir).not.toBeNull();
    demo.child.kill('SIGTERM');
    const { code } = await demo.exited;
    expect(code).toBe(143);
    expect(demo.output()).toMatch(/SIGTERM: stopping the sandbox/);
    expect(existsSync(dir ?? '/')).toBe(false);
    expect(processesUnder(dir ?? '/nonexistent')).toEqual([]);
  }, 150_000);

  it('a piped line that fails makes the exit status 1, and the later lines still run', async () => {
    const demo = runDemo('/train status 999999\n/ckpt list\n');
    const { code } = await demo.exited;
    const out = demo.output();
    expect(code, out.slice(-3000)).toBe(1);
    expect(out).toMatch(/> \/train status 999999[\s\S]*999999/);
    expect(out).toMatch(/> \/ckpt list[\s\S]*pythia-160m-dolci-seed42/);
  }, 120_000);

  it('resubmits with the suggested fix (press N) and cancels after a y/N confirm', async () => {
    const demo = runDemo(
      '/train submit configs/demo-resume.yml\nwait\npress 1\nwait\n/train submit configs/demo.yml\nsleep 2\n/train cancel 4\ny\n',
    );
    const { code } = await demo.exited;
    const out = demo.output();
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/Job 2: checkpoint_not_found[\s\S]*\[1\] Resubmit with iteration 100/);
    expect(out).toMatch(/> press 1\n✔ Submitted training job 3/);
    expect(out).toMatch(/Job 3: 50\+ iterations completed/);
    expect(out).toMatch(/This cannot be undone\.\s+\[y\/N\]\n> y\n✔ Cancelled job 4/);
  }, 150_000);
});
