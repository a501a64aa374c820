import { createRequire } from 'node:module';
import { type DestinationStream, pino } from 'pino';
import type pinoPretty from 'pino-pretty';

/**
 * The one logger shape every room is given: structured fields first, then the message. pino's logger is
 * one; tests pass silentLogger(). `child` adds fields (`{ component: 'uploads' }`) to every later line.
 */
export interface Logger {
  /** The level in force (`info`, `debug`, …), for libraries that ask. */
  readonly level: string;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  /** The process cannot go on (it is about to exit): alerting keys on this level. */
  fatal(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly level: string;
  /** Human-readable lines (a terminal); JSON lines otherwise. */
  readonly pretty: boolean;
  /** Defaults to stdout (stderr for the CLI, whose stdout carries the answer). */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
}

// Belt and braces: secrets are never passed to the logger, and these paths are censored if one slips in.
const REDACT = [
  'token',
  '*.token',
  'botToken',
  'appToken',
  'signingSecret',
  '*.signingSecret',
  'headers.authorization',
  '*.headers.authorization',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  '*.SLACK_BOT_TOKEN',
  '*.SLACK_APP_TOKEN',
  '*.SLACK_SIGNING_SECRET',
];

export function createLogger(opts: LoggerOptions): Logger {
  const options = { level: opts.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (opts.pretty) {
    // In-thread pretty stream (no worker transport): works the same under tsx, vitest and node. Loaded only
    // for a terminal, so a process that logs JSON lines never pays for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty;
    const stream = pretty({
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      destination: opts.destination ?? 1,
      sync: true,
    });
    return pino(options, stream);
  }
  return pino(options, (opts.destination as DestinationStream | undefined) ?? pino.destination(1));
}

/** For tests and tools that must not print. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
