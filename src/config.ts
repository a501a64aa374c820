import { DEFAULT_AUDIT_LOG, DEFAULT_LOG_LEVEL, LOG_LEVELS } from './log-settings.js';
import * as z from './zod.js';

// The one place environment variables are described. main.ts calls loadConfig(process.env) once; everything
// else receives the parsed Config.

const TIPS_NEOX_DIR = '/home/a5k/kyleobrien.a5k/geodesic-gpt-neox';
const TIPS_PIPELINE_DIR = '/projects/a5k/public/self-fulfilling-model-organisms';

// A blank value is an unset one: loadConfig drops blank values before parsing, so a field's schema is its
// rule and its default only (a preprocess step on each of ~50 fields doubled what every start builds).
const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodMiniType>(schema: T) => z.optional(schema);
const withDefault = <T extends z.ZodMiniType>(schema: T, def: z.input<T>) => z._default(schema, def as never);

const absPath = z
  .string()
  .check(z.refine((s) => s.startsWith('/'), 'must be an absolute path (start with /)'));
const port = z.coerce
  .number({ error: 'must be a port number' })
  .check(z.int('must be a whole number'), z.gte(1, 'must be 1–65535'), z.lte(65535, 'must be 1–65535'));
const url = (protocols: string[]) =>
  z.string().check(
    z.refine((s) => URL.canParse(s), 'must be a URL'),
    z.refine(
      (s) => URL.canParse(s) && protocols.includes(new URL(s).protocol),
      `must be a ${protocols.join(' or ')} URL`,
    ),
  );
/** A comma-separated list, blanks dropped, each item checked by `item`; unset is the empty list. */
const commaList = (item: z.ZodMiniString<string>) => {
  const words = z.pipe(
    z.string(),
    z.transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    ),
  );
  // A transform piped into the schema: what z.preprocess is in classic zod (zod/mini has no preprocess).
  return z.pipe(
    z.transform((v: unknown) => v ?? ''),
    z.pipe(words, z.array(item)),
  );
};
// Building an Intl.DateTimeFormat loads ICU's calendar data (~20 ms, paid by every CLI call), so the
// canonical ids and UTC are checked against the list first; only an alias (US/Eastern) builds one.
let knownZones: ReadonlySet<string> | undefined;
const timezone = z.string().check(
  z.refine((tz) => {
    knownZones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC', 'GMT']);
    if (knownZones.has(tz)) return true;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as UTC or Europe/London'),
);
/** Whole or fractional seconds within [min, max]. */
const seconds = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number of seconds' })
    .check(z.gte(min, `must be at least ${min} s`), z.lte(max, `must be at most ${max} s`));
const cronExpr = z
  .string()
  .check(
    z.refine((s) => /^(\S+\s+){4,5}\S+$/.test(s.trim()), 'must be a cron expression such as "0 9 * * *"'),
  );

export const Config = z.object({
  SLACK_MODE: withDefault(z.enum(['socket', 'http'], { error: 'must be "socket" or "http"' }), 'socket'),
  SLACK_BOT_TOKEN: opt(z.string().check(z.startsWith('xoxb-', 'must be a bot token starting with xoxb-'))),
  SLACK_APP_TOKEN: opt(
    z.string().check(z.startsWith('xapp-', 'must be an app-level token starting with xapp-')),
  ),
  SLACK_SIGNING_SECRET: opt(z.string().check(z.minLength(8, 'looks too short for a signing secret'))),
  PORT: withDefault(port, 3000),
  SLACK_API_URL: withDefault(url(['https:', 'http:']), 'https://slack.com/api/'),
  /** Socket Mode WebSocket URL override (tests point it at a loopback server). */
  SLACK_SOCKET_URL: opt(url(['wss:', 'ws:'])),
  REDIS_URL: withDefault(url(['redis:', 'rediss:']), 'redis://127.0.0.1:6379'),
  CLUSTER_TRANSPORT: withDefault(z.enum(['ssh', 'local'], { error: 'must be "ssh" or "local"' }), 'ssh'),
  SSH_HOST: opt(z.string().check(z.regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address'))),
  SSH_PORT: withDefault(port, 22),
  SSH_USER: opt(z.string().check(z.regex(/^[a-z_][a-z0-9._-]*$/, 'must be a unix user name'))),
  SSH_KEY_PATH: opt(absPath),
  SSH_KNOWN_HOSTS: opt(absPath),
  SSH_HOST_FINGERPRINT: opt(
    z.string().check(z.regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must look like SHA256:<43 base64 characters>')),
  ),
  SSH_MAX_CHANNELS: withDefault(
    z.coerce.number().check(z.int(), z.gte(1), z.lte(9, 'must be below sshd MaxSessions (10)')),
    8,
  ),
  CHECKPOINTS_BASE_DIR: withDefault(absPath, '/projects/a5k/public/checkpoints/sf_model_organisms'),
  LOGS_DIR: withDefault(absPath, '/projects/a5k/public/logs'),
  NEOX_DIR: withDefault(absPath, TIPS_NEOX_DIR),
  TRAIN_SBATCH: withDefault(absPath, `${TIPS_NEOX_DIR}/pretrain_neox.sbatch`),
  PIPELINE_SBATCH: withDefault(absPath, `${TIPS_PIPELINE_DIR}/upload_and_evaluate_checkpoint.sbatch`),
  OPERATORS: commaList(
    z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/, 'must be Slack user ids like U0123ABCD, comma-separated')),
  ),
  /** Unix user names allowed to run `operate` commands from the chatops CLI/console (comma-separated). */
  CLI_OPERATORS: commaList(
    z.string().check(z.regex(/^[a-z_][a-z0-9._-]{0,31}$/, 'must be unix user names, comma-separated')),
  ),
  DIGEST_CHANNEL: opt(
    z.string().check(z.regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD')),
  ),
  DIGEST_CRON: withDefault(cronExpr, '0 9 * * *'),
  /**
   * Where updates of work started outside Slack (the CLI) go: a channel id, or `none`. Default: DIGEST_CHANNEL
   * (and nowhere when that is unset too).
   */
  NOTIFY_CHANNEL: opt(
    z
      .string()
      .check(z.regex(/^([CGD][A-Z0-9]{2,}|none)$/, 'must be a Slack channel id like C0123ABCD, or "none"')),
  ),
  /** The operations HTTP server (GET /healthz, /readyz, /metrics) on 127.0.0.1 unless OPS_HOST says otherwise; 0 = off. */
  OPS_PORT: withDefault(
    z.coerce.number({ error: 'must be a port number' }).check(z.int(), z.gte(0), z.lte(65535)),
    9464,
  ),
  OPS_HOST: withDefault(
    z.string().check(z.regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address')),
    '127.0.0.1',
  ),
  /** Seconds a stop (SIGTERM) may take: in-flight handlers finish, then the process exits regardless. */
  SHUTDOWN_TIMEOUT_S: withDefault(seconds(1, 600), 25),
  TZ: withDefault(timezone, 'UTC'),
  HF_ORG: opt(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a Hub organisation name'))),
  AUDIT_LOG: withDefault(absPath, DEFAULT_AUDIT_LOG),
  LOG_LEVEL: withDefault(z.enum(LOG_LEVELS), DEFAULT_LOG_LEVEL),
  /** Seconds between a training watch's polls of squeue and the logs. */
  WATCH_POLL_S: withDefault(seconds(1, 600), 15),
  /** Pipeline runs at once across every bot process. */
  UPLOAD_CONCURRENCY: withDefault(
    z.coerce.number().check(z.int('must be a whole number'), z.gte(1), z.lte(64)),
    4,
  ),
  /** Commits the Hub accepts per window (its repository-commit limit), and that window. */
  UPLOAD_COMMIT_LIMIT: withDefault(
    z.coerce.number().check(z.int('must be a whole number'), z.gte(1), z.lte(10_000)),
    100,
  ),
  UPLOAD_COMMIT_WINDOW_S: withDefault(seconds(1, 86_400), 300),
  /** Added to the window: absorbs the delay between admitting a run and its commit. */
  UPLOAD_COMMIT_MARGIN_S: withDefault(seconds(0, 3_600), 15),
  /** Seconds between squeue polls of running pipeline jobs. */
  UPLOAD_POLL_S: withDefault(seconds(1, 600), 30),
  /** A per-experiment lock lives this long unrenewed, is renewed this often, and waiters re-check this often. */
  UPLOAD_LOCK_TTL_S: withDefault(seconds(5, 86_400), 600),
  UPLOAD_LOCK_RENEW_S: withDefault(seconds(1, 3_600), 60),
  UPLOAD_LOCK_RECHECK_S: withDefault(seconds(1, 86_400), 300),
  /**
   * A running upload job's lock in the queue (renewed at half this by its worker) and how often every
   * worker looks for jobs whose lock lapsed: after a crash, the dead process's uploads resume within
   * about their sum.
   */
  UPLOAD_JOB_LOCK_S: withDefault(seconds(2, 600), 15),
  UPLOAD_STALLED_CHECK_S: withDefault(seconds(1, 600), 5),
});
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }

  /** Every problem is about reaching the cluster (SSH_*, CLUSTER_TRANSPORT): offline commands can still run. */
  get clusterOnly(): boolean {
    return this.problems.length > 0 && this.problems.every((p) => /^(SSH_|CLUSTER_TRANSPORT)/.test(p));
  }
}

/** Parse the environment; on any bad value, throw one ConfigError naming every problem. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const keys = Object.keys(Config.shape ?? {});
  const picked: Record<string, string | undefined> = {};
  for (const k of keys) picked[k] = blankToUndefined(env[k]);
  const r = Config.safeParse(picked);
  const problems = r.success
    ? []
    : r.error.issues.map((i) => {
        const name = String(i.path[0] ?? 'config');
        const got = env[name];
        const shown = got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`;
        return `${name} ${i.message}${shown}`;
      });
  // Cross-field rules run on the raw values too, so one run reports every problem at once.
  const set = (k: string) => (env[k] ?? '').trim() !== '';
  if ((env.CLUSTER_TRANSPORT ?? 'ssh').trim() !== 'local') {
    for (const k of ['SSH_HOST', 'SSH_USER', 'SSH_KEY_PATH']) {
      if (!set(k))
        problems.push(`${k} is required when CLUSTER_TRANSPORT=ssh (or set CLUSTER_TRANSPORT=local)`);
    }
    if (!set('SSH_KNOWN_HOSTS') && !set('SSH_HOST_FINGERPRINT')) {
      problems.push(
        'SSH_KNOWN_HOSTS or SSH_HOST_FINGERPRINT is required when CLUSTER_TRANSPORT=ssh: the host key must be pinned',
      );
    }
  }
  if (r.success && r.data.UPLOAD_LOCK_RENEW_S >= r.data.UPLOAD_LOCK_TTL_S) {
    problems.push(
      `UPLOAD_LOCK_RENEW_S must be below UPLOAD_LOCK_TTL_S (got ${r.data.UPLOAD_LOCK_RENEW_S} and ${r.data.UPLOAD_LOCK_TTL_S}), or the lock lapses while held`,
    );
  }
  if (problems.length > 0 || !r.success) throw new ConfigError(problems);
  return r.data;
}

/** Slack settings needed to start the bot in the configured mode; empty when all are present. */
export function missingSlackSettings(c: Config): string[] {
  const need =
    c.SLACK_MODE === 'socket'
      ? ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN']
      : ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'];
  return need.filter((k) => !c[k as keyof Config]);
}

function redact(name: string, value: string): string {
  return /TOKEN|SECRET|KEY$/.test(name) ? `${value.slice(0, 5)}…` : value.slice(0, 200);
}

/**
 * For the CLI: the configuration, plus the cluster problems (if any) instead of failing outright, so offline
 * commands (`train scan-log`, `digest --logs`) work on a laptop with no cluster settings. Commands that need
 * the cluster then fail with these problems named.
 */
export function loadConfigAllowingNoCluster(env: Readonly<Record<string, string | undefined>>): {
  config: Config;
  clusterProblems: readonly string[];
} {
  try {
    return { config: loadConfig(env), clusterProblems: [] };
  } catch (e) {
    if (!(e instanceof ConfigError) || !e.clusterOnly) throw e;
    const withoutCluster = {
      ...env,
      CLUSTER_TRANSPORT: 'local',
      SSH_PORT: undefined,
      SSH_MAX_CHANNELS: undefined,
    };
    return { config: loadConfig(withoutCluster), clusterProblems: e.problems };
  }
}
