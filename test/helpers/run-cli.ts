import { PassThrough, Readable } from 'node:stream';
import { cliMain } from '../../src/app/cli.js';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the real CLI entry in-process with captured stdout/stderr, as a terminal user would see them. */
export async function runCli(opts: {
  argv: string[];
  env: Record<string, string | undefined>;
  stdinText?: string;
  localEnv?: Record<string, string>;
  user?: string;
}): Promise<CliRun> {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c) => {
    out += String(c);
  });
  stderr.on('data', (c) => {
    err += String(c);
  });
  const code = await cliMain({
    argv: opts.argv,
    env: opts.env,
    stdin: Readable.from(opts.stdinText === undefined ? [] : [opts.stdinText]),
    stdout,
    stderr,
    ...(opts.localEnv ? { localEnv: opts.localEnv } : {}),
    user: opts.user ?? 'tester',
  });
  return { code, out, err };
}
