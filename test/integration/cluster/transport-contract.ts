import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteScript } from '../../../src/cluster/remote-script.js';
import type { Transport } from '../../../src/cluster/transport.js';
import { ClusterError, UserError } from '../../../src/errors.js';

const execFileP = promisify(execFile);

/** Pids of processes on this machine whose full command line matches the regex (the "cluster" is local). */
export async function pgrep(pattern: string): Promise<number[]> {
  try {
    const { stdout } = await execFileP('pgrep', ['-f', pattern]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export async function waitForNoProcess(pattern: string, timeoutMs = 3000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  let left = await pgrep(pattern);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = await pgrep(pattern);
  }
  return left;
}

/** A `sleep` with a unique duration, so its command line identifies exactly this test's process. */
export function uniqueSleep(): { arg: string; pattern: string } {
  const frac = String(100_000 + (randomBytes(3).readUIntBE(0, 3) % 900_000));
  return { arg: `29.${frac}`, pattern: `^sleep 29\\.${frac}$` };
}

export const HOSTILE_ARGS = (canary: string): string[] => [
  `; touch ${canary}`,
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `&& touch ${canary}`,
  `| touch ${canary}`,
  `' ; touch ${canary} ; '`,
  `" ; touch ${canary} ; "`,
  `> ${canary}`,
  '--wrap=id',
  '-rf',
  '*',
  '~',
  '$HOME',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the hostile input
  '${IFS}',
  "it's",
  '\\',
  '',
  ' leading and trailing spaces ',
  'ünïcødé ✓',
];

export const CONTROL_CHAR_ARGS = ['a\nb', 'a\rb', 'a\u0000b', 'a\u001b[2Jb', 'a\tb', 'a\u007fb', '\n'];

/**
 * The behaviour both transports promise (src/cluster/transport.ts), asserted against the real thing:
 * the same cases run over sshd and locally, so callers can swap one for the other.
 */
export function describeTransportContract(name: string, make: () => Transport, workRoot: () => string): void {
  describe(`${name}: Transport contract`, () => {
    let t: Transport;
    let work: string;
    beforeAll(async () => {
      t = make();
      work = await mkdtemp(join(workRoot(), `${name}-`));
    });
    afterAll(async () => {
      await t.close();
    });

    it('returns stdout, stderr and a non-zero exit code without throwing', async () => {
      const r = await t.run(['sh', '-c', 'printf "out 1\\nout 2"; printf "oops\\n" >&2; exit 7']);
      expect(r).toEqual({ stdout: 'out 1\nout 2', stderr: 'oops\n', exitCode: 7 });
    });

    it('feeds input on stdin and closes it', async () => {
      const input = 'line one\nline two\n';
      const r = await t.run(['cat'], { input });
      expect(r).toEqual({ stdout: input, stderr: '', exitCode: 0 });
    });

    it('gives EOF on stdin when there is no input, so stdin readers finish', async () => {
      const r = await t.run(['wc', '-c'], { timeoutMs: 5000 });
      expect(r.stdout.trim()).toBe('0');
      expect(r.exitCode).toBe(0);
    });

    it('keeps large output intact', async () => {
      const r = await t.run(['head', '-c', '3000000', '/dev/zero']);
      expect(r.stdout.length).toBe(3_000_000);
    });

    it('reports a missing program', async () => {
      const run = t.run(['definitely-not-a-program-xyz', 'arg']);
      if (t.kind === 'ssh') {
        // The remote shell reports it, like any other failing command.
        const r = await run;
        expect(r.exitCode).toBe(127);
        expect(r.stderr).toMatch(/definitely-not-a-program-xyz.*not found/);
      } else {
        await expect(run).rejects.toThrow(/definitely-not-a-program-xyz could not be started/);
      }
    });

    it('kills a command that outlives timeoutMs, with its children, and throws timedOut', async () => {
      const a = uniqueSleep();
      const b = uniqueSleep();
      const started = Date.now();
      const err = await t
        .run(['sh', '-c', 'sleep "$1" & sleep "$2"; wait', 'sh', a.arg, b.arg], { timeoutMs: 700 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).details.timedOut).toBe(true);
      expect((err as ClusterError).message).toMatch(/timed out after 700 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await waitForNoProcess(a.pattern)).toEqual([]);
      expect(await waitForNoProcess(b.pattern)).toEqual([]);
      // And the transport is still usable afterwards.
      expect((await t.run(['echo', 'still here'])).stdout).toBe('still here\n');
    });

    it('kills a command whose timeout expires before it has even started', async () => {
      const a = uniqueSleep();
      const err = await t.run(['sleep', a.arg], { timeoutMs: 5 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).details.timedOut).toBe(true);
      // Give a command that slipped through time to appear, then it must be gone.
      await new Promise((r) => setTimeout(r, 500));
      expect(await waitForNoProcess(a.pattern)).toEqual([]);
    });

    it('kills a command whose output exceeds maxOutputBytes', async () => {
      const token = `overflow${randomBytes(4).toString('hex')}`;
      const err = await t.run(['yes', token], { maxOutputBytes: 64 * 1024 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterError);
      expect((err as ClusterError).message).toMatch(/more than 65536 bytes of output/);
      expect(await waitForNoProcess(`^yes ${token}$`)).toEqual([]);
      expect((await t.run(['echo', 'ok'])).stdout).toBe('ok\n');
    });

    it('passes hostile arguments through as inert, byte-identical words', async () => {
      const canary = join(work, `canary-${randomBytes(4).toString('hex')}`);
      const args = HOSTILE_ARGS(canary);
      const r = await t.run(['printf', '%s\\000', ...args]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout.split('\u0000').slice(0, -1)).toEqual(args);
      // `--wrap=id` stays an operand, never an option, when `--` says so.
      const wrap = await t.run(['ls', '-d', '--', '--wrap=id'], { timeoutMs: 5000 });
      expect(wrap.stderr).toMatch(/--wrap=id/);
      expect(wrap.stdout).toBe('');
      expect(existsSync(canary)).toBe(false);
    });

    it('rejects newlines and control characters before running anything', async () => {
      const canary = join(work, `ctl-canary-${randomBytes(4).toString('hex')}`);
      for (const bad of CONTROL_CHAR_ARGS) {
        await expect(t.run(['echo', bad])).rejects.toBeInstanceOf(UserError);
      }
      await expect(t.run(['sh', '-c', `touch ${canary}\n`])).rejects.toThrow(/newline or control character/);
      await expect(t.run(['touch', canary, '\n'])).rejects.toBeInstanceOf(UserError);
      expect(existsSync(canary)).toBe(false);
    });

    it('runs a multi-line script with its helper program, operands inert and byte-identical', async () => {
      const canary = join(work, `script-canary-${randomBytes(4).toString('hex')}`);
      const helper: RemoteScript = {
        name: 'helper.pl',
        interpreter: 'perl',
        body: 'print scalar(@ARGV), "\\n";\n',
      };
      const script: RemoteScript = {
        name: 'contract.sh',
        interpreter: 'sh',
        // A body with newlines, a tab, a quote and $: all trusted code, kept as written.
        body: 'printf "%s\\n" "$0"\n\tprintf \'%s\\000\' "$@"\nperl -e "$HELPER_PL" -- "$@" >&2\n',
        env: { HELPER_PL: helper.body },
      };
      const args = HOSTILE_ARGS(canary);
      const r = await t.runScript(script, args);
      expect(r.exitCode).toBe(0);
      const [name, rest] = [
        r.stdout.slice(0, r.stdout.indexOf('\n')),
        r.stdout.slice(r.stdout.indexOf('\n') + 1),
      ];
      expect(name).toBe('contract.sh');
      expect(rest.split('\u0000').slice(0, -1)).toEqual(args);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(String(args.length));
      const perl = await t.runScript(helper, ['-e', 'x']);
      expect(perl.stdout).toBe('2\n');
      for (const bad of CONTROL_CHAR_ARGS) {
        await expect(t.runScript(script, [bad])).rejects.toBeInstanceOf(UserError);
      }
      expect(existsSync(canary)).toBe(false);
    });
  });
}
