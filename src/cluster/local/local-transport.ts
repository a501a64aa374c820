import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { execa as Execa } from 'execa';
import { ClusterError } from '../../errors.js';
import { assertNoControlChars } from '../quote.js';
import { assertOperands, type RemoteScript, scriptArgv, scriptAuditArgv } from '../remote-script.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type PathStat,
  type RunOptions,
  type RunResult,
  type Transport,
} from '../transport.js';

export interface LocalTransportOptions {
  /** Merged over the parent's environment (e.g. `{ SLURM_CONF }` for a test cluster). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** Runs argv directly on this machine (a bot on the login node): no shell, same contract as SSH. */
export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  readonly #env: Readonly<Record<string, string>>;
  readonly #cwd: string | undefined;
  readonly #running = new Set<number>();

  constructor(opts: LocalTransportOptions = {}) {
    this.#env = opts.env ?? {};
    this.#cwd = opts.cwd;
  }

  async statPaths(paths: readonly string[]): Promise<(PathStat | null)[] | null> {
    try {
      return await Promise.all(
        paths.map((p) =>
          stat(resolve(this.#cwd ?? '.', p), { bigint: true }).then(
            (s) => ({ size: Number(s.size), mtime: Number(s.mtimeNs) / 1e9 }),
            (e: NodeJS.ErrnoException) => {
              if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
              throw e;
            },
          ),
        ),
      );
    } catch {
      return null;
    }
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new Error('LocalTransport.run: empty argv');
    // Same refusals as the SSH side, so behaviour does not depend on which transport is configured.
    for (const a of argv) assertNoControlChars(a);
    return this.#exec(argv, opts, {}, argv[0] ?? '', argv);
  }

  async runScript(
    script: RemoteScript,
    operands: readonly string[],
    opts: RunOptions = {},
  ): Promise<RunResult> {
    assertOperands(operands);
    return this.#exec(
      scriptArgv(script, operands),
      opts,
      script.env ?? {},
      script.interpreter,
      scriptAuditArgv(script, operands),
    );
  }

  async #exec(
    argv: readonly string[],
    opts: RunOptions,
    extraEnv: Readonly<Record<string, string>>,
    label: string,
    shown: readonly string[],
  ): Promise<RunResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('LocalTransport: empty argv');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

    const child = (await loadExeca())(file, args, {
      env: { ...this.#env, ...extraEnv },
      extendEnv: true,
      cwd: this.#cwd,
      reject: false,
      stripFinalNewline: false,
      // Own process group, so a timeout also kills whatever the command started.
      detached: true,
      stdin: opts.input === undefined ? 'ignore' : 'pipe',
      input: opts.input,
      // Our own byte counter below trips first; this is only a backstop.
      maxBuffer: maxBytes + 1,
    });

    let reason: 'timeout' | 'overflow' | undefined;
    const killGroup = (why: 'timeout' | 'overflow') => {
      reason ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    let seen = 0;
    const count = (chunk: Buffer | string) => {
      seen += Buffer.byteLength(chunk);
      if (seen > maxBytes) killGroup('overflow');
    };
    child.stdout?.on('data', count);
    child.stderr?.on('data', count);
    const timer = setTimeout(() => killGroup('timeout'), timeoutMs);
    if (child.pid !== undefined) this.#running.add(child.pid);

    try {
      const r = await child;
      if (reason === 'timeout') {
        throw new ClusterError(`${label} timed out after ${timeoutMs} ms and was killed`, {
          argv: shown,
          exitCode: null,
          stderr: String(r.stderr ?? ''),
          timedOut: true,
        });
      }
      if (reason === 'overflow' || r.isMaxBuffer) {
        throw new ClusterError(`${label} produced more than ${maxBytes} bytes of output and was killed`, {
          argv: shown,
          exitCode: null,
        });
      }
      if (r.exitCode === undefined) {
        // Not started (ENOENT, EACCES) or killed by a signal nobody here sent.
        const why = r.signal
          ? `was killed by ${r.signal}`
          : `could not be started: ${r.originalMessage ?? r.shortMessage}`;
        throw new ClusterError(`${label} ${why}`, {
          argv: shown,
          exitCode: null,
          stderr: String(r.stderr ?? ''),
        });
      }
      return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode };
    } finally {
      clearTimeout(timer);
      if (child.pid !== undefined) this.#running.delete(child.pid);
    }
  }

  /** Kills whatever is still running (shutdown must not leave children behind). */
  async close(): Promise<void> {
    for (const pid of this.#running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.#running.clear();
  }
}

let execaModule: Promise<typeof Execa> | undefined;
/** execa and its ~15 packages load with the first command run, not with every process that could run one. */
function loadExeca(): Promise<typeof Execa> {
  execaModule ??= import('execa').then((m) => m.execa);
  return execaModule;
}
