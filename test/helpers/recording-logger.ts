import type { Logger } from '../../src/logger.js';

export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  readonly obj: object | string;
  readonly msg: string | undefined;
}

/** A Logger that keeps every line (children write to the same list), so a test can assert on them. */
export function recordingLogger(lines: LoggedLine[] = []): Logger & { readonly lines: LoggedLine[] } {
  const at =
    (level: LoggedLine['level']) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const log = {
    level: 'debug',
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => log,
  };
  return log;
}
