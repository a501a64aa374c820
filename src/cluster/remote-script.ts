import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { assertNoControlChars } from './quote.js';

/**
 * A program that runs on the cluster, kept as a real file in src/cluster/remote/ (linted by shellcheck or
 * `perl -c`, headed by its operands, stdin, output and exit codes). Its body is trusted code of this
 * repository and may hold newlines; everything that varies travels as operands, validated like argv.
 */
export interface RemoteScript {
  /** The file name (`pipeline-scan.sh`): `$0` of a shell script, and what audit records show. */
  readonly name: string;
  readonly interpreter: 'sh' | 'perl';
  readonly body: string;
  /**
   * Further programs the script starts itself, handed over in environment variables (name → body), so a
   * shell script can run `perl -e "$SCAN_WORKER_PL"` without any code being spliced into it.
   */
  readonly env?: Readonly<Record<string, string>>;
}

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Reads `src/cluster/remote/<name>` once (the build copies that folder beside the compiled code). */
export function loadRemoteScript(
  name: string,
  opts: { readonly env?: Readonly<Record<string, RemoteScript>> } = {},
): RemoteScript {
  const interpreter = name.endsWith('.pl') ? 'perl' : name.endsWith('.sh') ? 'sh' : null;
  if (interpreter === null) throw new Error(`remote script ${name}: the name must end in .sh or .pl`);
  const body = readFileSync(new URL(`./remote/${name}`, import.meta.url), 'utf8');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!ENV_NAME.test(k)) throw new Error(`remote script ${name}: ${k} is not an environment variable name`);
    env[k] = v.body;
  }
  return { name, interpreter, body, ...(opts.env ? { env } : {}) };
}

/** Operands reach the remote program as argv: the same refusals as every other argument. */
export function assertOperands(operands: readonly string[]): void {
  for (const o of operands) assertNoControlChars(o, 'operand');
  if (operands.some((o) => o.length > 128 * 1024)) throw new UserError('an operand is longer than 128 KiB');
}

/**
 * The argv that runs a script with its operands, without any shell of ours: `sh -c BODY NAME OPERANDS…`
 * (NAME becomes `$0`) or `perl -e BODY -- OPERANDS…` (`--` so an operand starting with `-` stays data).
 */
export function scriptArgv(script: RemoteScript, operands: readonly string[]): string[] {
  return script.interpreter === 'sh'
    ? ['sh', '-c', script.body, script.name, ...operands]
    : ['perl', '-e', script.body, '--', ...operands];
}

/** What an audit record shows for a script: the interpreter, its file name and the operands, not the body. */
export function scriptAuditArgv(script: RemoteScript, operands: readonly string[]): string[] {
  return [script.interpreter, script.name, ...operands];
}
