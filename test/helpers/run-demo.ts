import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

// `npm run demo` as a user runs it: a child process of scripts/demo.ts with piped stdin, its own sandbox
// beside the suite's testbed. Collects stdout and stderr and where the sandbox lived.

const ROOT = join(import.meta.dirname, '..', '..');

export interface DemoRun {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved in arrival order. */
  output(): string;
  stdout(): string;
  /** The sandbox's temp dir, once the demo has printed it. */
  sandboxDir(): string | null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

export function runDemo(input: string | null, args: readonly string[] = []): DemoRun {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'demo.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let all = '';
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    all += b.toString();
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    all += b.toString();
  });
  if (input !== null) child.stdin?.end(input);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return {
    child,
    output: () => all,
    stdout: () => out,
    sandboxDir: () => /cluster files under (\/\S+)\/cluster/.exec(all)?.[1] ?? null,
    exited,
    async waitForOutput(re, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(all);
        if (m) return m;
        if (Date.now() > until)
          throw new Error(`demo did not print ${re} in ${timeoutMs} ms:\n${all.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Processes whose command line or working directory names `dir` (what the demo must not leave behind). */
export function processesUnder(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const hits = ps
    .split('\n')
    .filter((l) => l.includes(dir))
    .map((l) => l.trim());
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      if (cwd.startsWith(dir)) hits.push(`${p} (cwd ${cwd})`);
    } catch {
      // gone, or not ours to read
    }
  }
  return hits;
}
