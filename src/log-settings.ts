// AUDIT_LOG and LOG_LEVEL, read without zod. Every CLI invocation needs these two (help and unknown names are
// audited too), while help, unknown names and the offline helpers need nothing else: the CLI runs them
// without parsing the rest of the configuration. src/config.ts builds the same two settings from the
// constants here, and test/unit/shared/config.test.ts holds both readings to the same answers.

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_AUDIT_LOG = '/var/log/slurm-chatops/audit.jsonl';

export interface LogSettings {
  readonly AUDIT_LOG: string;
  readonly LOG_LEVEL: LogLevel;
}

/** The two settings as loadConfig reads them, or null when either is invalid (loadConfig then says why). */
export function readLogSettings(env: Readonly<Record<string, string | undefined>>): LogSettings | null {
  // As loadConfig: a blank value is an unset one (the default).
  const given = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const auditLog = given('AUDIT_LOG') ?? DEFAULT_AUDIT_LOG;
  const level = given('LOG_LEVEL') ?? DEFAULT_LOG_LEVEL;
  if (!auditLog.startsWith('/')) return null;
  const known = LOG_LEVELS.find((l) => l === level);
  return known === undefined ? null : { AUDIT_LOG: auditLog, LOG_LEVEL: known };
}
