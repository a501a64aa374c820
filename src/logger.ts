import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { DestinationStream, LevelWithSilent, Logger as PinoLogger } from 'pino';
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

const require = createRequire(import.meta.url);
const LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};
type Method = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * pino is loaded (synchronously: it is CommonJS) by the first line at an enabled level, not at start: a CLI
 * command that logs nothing (help, the offline helpers: level warn) never pays for it. Children made
 * before that keep their bindings and build their pino child from the parent when they first write.
 */
class DeferredLogger implements Logger {
  #real: Logger | undefined;
  readonly #threshold: number;
  constructor(
    readonly level: string,
    private readonly make: () => Logger,
  ) {
    this.#threshold = LEVELS[level] ?? Number.POSITIVE_INFINITY;
  }
  #logger(): Logger {
    this.#real ??= this.make();
    return this.#real;
  }
  #write(m: Method, obj: object | string, msg?: string): void {
    if ((LEVELS[m] ?? 0) < this.#threshold) return;
    if (msg === undefined) this.#logger()[m](obj);
    else this.#logger()[m](obj, msg);
  }
  debug(obj: object | string, msg?: string): void {
    this.#write('debug', obj, msg);
  }
  info(obj: object | string, msg?: string): void {
    this.#write('info', obj, msg);
  }
  warn(obj: object | string, msg?: string): void {
    this.#write('warn', obj, msg);
  }
  error(obj: object | string, msg?: string): void {
    this.#write('error', obj, msg);
  }
  fatal(obj: object | string, msg?: string): void {
    this.#write('fatal', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new DeferredLogger(this.level, () => this.#logger().child(bindings));
  }
}

function pinoLogger(opts: LoggerOptions): PinoLogger {
  const { pino } = require('pino') as typeof Pino;
  const options = { level: opts.level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (opts.pretty) {
    // In-thread pretty stream (no worker transport): works the same under tsx, vitest and node. Loaded only
    // for a terminal, so a process that logs JSON lines never pays for it.
    const pretty = require('pino-pretty') as typeof pinoPretty;
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

export function createLogger(opts: LoggerOptions): Logger {
  return new DeferredLogger(opts.level, () => pinoLogger(opts));
}

/** For tests and tools that must not print. */
export function silentLogger(): Logger {
  return new DeferredLogger('silent' satisfies LevelWithSilent, () => {
    throw new Error('a silent logger writes nothing');
  });
}
