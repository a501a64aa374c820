import { AsyncLocalStorage } from 'node:async_hooks';

import { dirname } from 'node:path';
import type { Logger } from './logger.js';
import { asyncFiles, type FileCalls } from './node-fs.js';

/** Collects what one invocation did on the cluster, for its audit record. */
export interface InvocationAudit {
  /** Called by the auditing transport for every argv it runs; commands rarely call it themselves. */
  argv(argv: readonly string[]): void;
  /** Attach a fact to the audit record (e.g. `{ jobId: '123' }`). Never pass secrets. */
  note(key: string, value: string | number | boolean): void;
}

/** `started`: an operate command or button about to act (its outcome follows in a second record). */
export type AuditOutcome = 'started' | 'ok' | 'error' | 'refused' | 'invalid';

/** One line of AUDIT_LOG: who ran what, what ran on the cluster, how it ended. Never a secret. */
export interface AuditRecord {
  readonly time: string;
  readonly user: string;
  readonly userName?: string;
  readonly source: 'slack' | 'cli';
  readonly channel?: string;
  /** The command as typed, e.g. `/train list alice`. */
  readonly command: string;
  /** Every argv run on the cluster while handling it, in order. */
  readonly argv: readonly (readonly string[])[];
  readonly outcome: AuditOutcome;
  readonly message?: string;
  readonly notes?: Readonly<Record<string, string | number | boolean>>;
  readonly durationMs: number;
}

export interface AuditSink {
  /** Record how an invocation ended. Never rejects: a failure is logged (the answer still goes out). */
  write(record: AuditRecord): Promise<void>;
  /**
   * Record that a command is about to change something, durably, before it does: rejects (AuditUnavailable)
   * when the record could not be written, and the command is then refused. No action without its record.
   */
  begin(record: AuditRecord): Promise<void>;
}

/** The audit record of an action could not be written (disk full, file unwritable, no audit file). */
export class AuditUnavailable extends Error {
  override readonly name = 'AuditUnavailable';
}

export interface AuditLogOptions {
  /** How the file is written: asyncFiles (the default) or, for a one-shot CLI process, syncFiles. */
  readonly files?: FileCalls;
}

/** JSON lines appended to `path` (directory created), each record also logged. */
export class AuditLog implements AuditSink {
  #chain: Promise<void> = Promise.resolve();
  #dirReady: Promise<unknown> | undefined;
  readonly #files: FileCalls;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    opts: AuditLogOptions = {},
  ) {
    this.#files = opts.files ?? asyncFiles;
  }

  /**
   * Fail at startup, not on the first command, when the audit file cannot be written: its directory is
   * made and the file opened for appending (a full disk shows on the first record, begin() refusing).
   */
  async open(): Promise<void> {
    await this.#files.mkdir(dirname(this.path));
    await this.#files.close(await this.#files.open(this.path, 'a'));
  }

  write(record: AuditRecord): Promise<void> {
    return this.#append(record).catch((err: unknown) => {
      this.log.error({ err, path: this.path }, 'could not write the audit record');
    });
  }

  begin(record: AuditRecord): Promise<void> {
    return this.#append(record).catch((err: unknown) => {
      this.log.error({ err, path: this.path }, 'could not write the audit record: the action is refused');
      throw new AuditUnavailable(`${this.path}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  #append(record: AuditRecord): Promise<void> {
    const clean = redactRecord(record);
    this.log.info({ audit: clean }, 'audit');
    this.#dirReady ??= this.#files.mkdir(dirname(this.path)).catch((err: unknown) => {
      this.#dirReady = undefined;
      throw err;
    });
    // Serialised so concurrent invocations never interleave partial lines; one failure does not stop the next.
    const line = `${JSON.stringify(clean)}\n`;
    const appended = this.#chain.then(() => this.#dirReady).then(() => this.#files.append(this.path, line));
    this.#chain = appended.catch(() => {});
    return appended;
  }
}

/** Collects argv and notes for one invocation. */
export class InvocationRecorder implements InvocationAudit {
  readonly argvs: string[][] = [];
  readonly notes: Record<string, string | number | boolean> = {};
  argv(argv: readonly string[]): void {
    this.argvs.push([...argv]);
  }
  note(key: string, value: string | number | boolean): void {
    this.notes[key] = value;
  }
}

const current = new AsyncLocalStorage<InvocationRecorder>();

/** Run `fn` with `recorder` as the invocation every audited transport call is attributed to. */
export function withInvocation<T>(recorder: InvocationRecorder, fn: () => Promise<T>): Promise<T> {
  return current.run(recorder, fn);
}

/** The invocation the current async call chain runs for, if any (read by src/cluster/audited-transport.ts). */
export function currentInvocation(): InvocationAudit | undefined {
  return current.getStore();
}

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/xox[abposre]-[A-Za-z0-9-]+/g, 'xox*-[redacted]'],
  [/xapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]'],
  [/\bhf_[A-Za-z0-9]{8,}/g, 'hf_[redacted]'],
  [/\b([A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEY)[A-Z0-9_]*)=[^\s,]+/g, '$1=[redacted]'],
];

export function redactSecrets(s: string): string {
  let out = s;
  for (const [re, rep] of SECRET_PATTERNS) out = out.replace(re, rep);
  return out;
}

function redactRecord(r: AuditRecord): AuditRecord {
  return {
    ...r,
    command: redactSecrets(r.command),
    argv: r.argv.map((a) => a.map(redactSecrets)),
    ...(r.message === undefined ? {} : { message: redactSecrets(r.message) }),
  };
}
