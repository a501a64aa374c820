import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from 'node:fs';

/** A process the testbed started and therefore may stop. Nothing else is ever signalled. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  stop(): Promise<void>;
}

// Safety net: if the test runner dies without calling stop(), kill what we started and remove our dirs,
// so no daemon outlives its testbed.
const live = new Set<Daemon>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const d of live) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Cleanup when the runner is SIGKILLed (no exit hook runs then): a detached shell waits for this process to
 * disappear, then SIGKILLs the pids listed in `<dir>/pids` — only those whose command line or working dir
 * still names the testbed dir, so a recycled pid is never hit — and removes the dir. Returns its pid.
 */
function startWatchdog(dir: string): number | undefined {
  const script = [
    'parent=$1; dir=$2',
    'while kill -0 "$parent" 2>/dev/null; do sleep 2; done',
    'if [ -f "$dir/pids" ]; then',
    '  for p in $(cat "$dir/pids"); do',
    '    cmd=$(tr "\\0" " " < /proc/$p/cmdline 2>/dev/null); cwd=$(readlink /proc/$p/cwd 2>/dev/null)',
    '    case "$cmd $cwd" in *"$dir"*) kill -9 "$p" 2>/dev/null;; esac',
    '  done',
    'fi',
    // Then whatever else still names the dir (a job's processes, an sbatch stuck retrying a dead slurmctld).
    'for e in /proc/[0-9]*; do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, run by sh
    '  p=${e#/proc/}; [ "$p" = "$$" ] && continue',
    '  if grep -qsF "$dir" "$e/cmdline" || case "$(readlink "$e/cwd" 2>/dev/null)" in "$dir"*) true;; *) false;; esac; then kill -9 "$p" 2>/dev/null; fi',
    'done',
    'rm -rf "$dir"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'testbed-watchdog', String(process.pid), dir], {
    stdio: 'ignore',
    detached: true,
  });
  child.unref();
  return child.pid;
}

const watchdogs = new Map<string, number>();

export function registerDir(dir: string): void {
  dirs.add(dir);
  const pid = startWatchdog(dir);
  if (pid !== undefined) watchdogs.set(dir, pid);
}

function pidsFileFor(path: string): string | undefined {
  for (const dir of dirs) if (path.startsWith(`${dir}/`)) return `${dir}/pids`;
  return undefined;
}
export function unregisterDir(dir: string): void {
  dirs.delete(dir);
  const pid = watchdogs.get(dir);
  watchdogs.delete(dir);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/**
 * Stop every process that still names `dir` in its command line or working directory: an sbatch run over
 * SSH still retrying a stopped slurmctld, a job's helper. SIGTERM first, so a process can release what it
 * holds (a shell's lock file), then SIGKILL. The environment is not searched: login shells Slurm starts
 * for a job's environment carry the dir there, and killing one mid-way can leave a user's lock behind.
 * The dir is a fresh mkdtemp name, so nothing else can match. Returns how many were signalled.
 */
export async function killStragglers(dir: string): Promise<number> {
  const find = () =>
    readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid && names(p, dir));
  const signal = (pids: readonly string[], sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(Number(p), sig);
      } catch {
        // gone already
      }
    }
  };
  const first = find();
  if (first.length === 0) return 0;
  signal(first, 'SIGTERM');
  for (let i = 0; i < 10 && find().length > 0; i++) await sleep(100);
  signal(find(), 'SIGKILL');
  return first.length;
}

function names(pid: string, dir: string): boolean {
  try {
    if (readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)) return true;
  } catch {
    // not ours to read, or gone
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`).includes(dir);
  } catch {
    return false;
  }
}

/** The pids of the processes `pid` started (its children, from /proc), e.g. sshd's per-connection ones. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

/** Start a daemon in the foreground (so the pid we hold is the daemon's), output to a log file. */
export function spawnDaemon(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { logPath: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Daemon {
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  // Don't keep the test runner alive just because a daemon runs; stop() and the exit hook handle cleanup.
  child.unref();
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', () => {
      done = true;
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`testbed: could not start ${name} (${cmd})`);
  const pids = pidsFileFor(opts.logPath);
  if (pids) appendFileSync(pids, `${pid}\n`);
  const daemon: Daemon = {
    name,
    pid,
    logPath: opts.logPath,
    exited,
    hasExited: () => done,
    async stop() {
      if (!done) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!killed) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await Promise.race([exited, sleep(2000)]);
        }
      }
      live.delete(daemon);
    },
  };
  live.add(daemon);
  exited.then(() => live.delete(daemon));
  return daemon;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Last lines of a daemon's log, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Poll `check` until it returns true. Fails early if the daemon died, with the tail of its log, so a
 * broken config shows up as its own error message rather than a timeout.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; daemons?: readonly Daemon[] },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    for (const d of opts.daemons ?? []) {
      if (d.hasExited())
        throw new Error(`testbed: ${d.name} exited while waiting for ${what}:\n${logTail(d.logPath)}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const logs = (opts.daemons ?? [])
        .map((d) => `--- ${d.name} (${d.logPath})\n${logTail(d.logPath)}`)
        .join('\n');
      throw new Error(`testbed: timed out after ${opts.timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

export interface CmdResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run a short command (no shell) and collect its output; never throws on a non-zero exit. */
export function runCmd(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr: stderr || (err && !stderr ? err.message : ''), code });
      },
    );
  });
}

/** Like runCmd, but a non-zero exit is an error naming the command. */
export async function mustRun(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`testbed: ${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r;
}
