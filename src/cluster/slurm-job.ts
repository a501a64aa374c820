import * as z from '../zod.js';

/** States in which the job may still run (or is running). */
const ACTIVE_JOB_STATES = [
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'STOPPED',
  'SIGNALING',
  'STAGE_OUT',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'SPECIAL_EXIT',
] as const;

/** Job states as Slurm prints them (squeue %T, scontrol JobState, sacct State). */
export const KNOWN_JOB_STATES = [
  ...ACTIVE_JOB_STATES,
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
] as const;

/** A known Slurm state, or `unknown` for anything a newer (or patched) Slurm prints that we do not know. */
export const JobState = z.enum([...KNOWN_JOB_STATES, 'unknown']);
export type JobState = z.infer<typeof JobState>;

const Known = z.enum(KNOWN_JOB_STATES);

/**
 * Map Slurm's state text to a JobState. sacct appends detail (`CANCELLED by 1234`), scontrol may join
 * flags with `+` (`PENDING+...` on some versions); the first word decides. Never throws.
 */
export function parseJobState(raw: string): JobState {
  const head = raw.trim().split(/[\s+]/)[0]?.toUpperCase() ?? '';
  const r = Known.safeParse(head);
  return r.success ? r.data : 'unknown';
}

const ACTIVE: ReadonlySet<JobState> = new Set<JobState>(ACTIVE_JOB_STATES);

/** The job may still run (or is running): keep watching it. `unknown` counts as active — don't give up on it. */
export function isActiveState(state: JobState): boolean {
  return state === 'unknown' || ACTIVE.has(state);
}

/** The job ended and will not run again on its own. */
export function isFinishedState(state: JobState): boolean {
  return !isActiveState(state);
}

/** Where a JobInfo came from: squeue (live), scontrol (live or recently finished), sacct (accounting). */
export const JobSource = z.enum(['squeue', 'scontrol', 'sacct']);
export type JobSource = z.infer<typeof JobSource>;

/** One job as the rest of the bot sees it, whichever Slurm tool answered. */
export const JobInfo = z.object({
  id: z.string().check(z.minLength(1)),
  state: JobState,
  /** Slurm's own text for the state, kept for display and for states we map to `unknown`. */
  rawState: z.string(),
  name: z.string(),
  user: z.string(),
  partition: z.nullable(z.string()),
  /** Run time so far (or total, when finished), seconds; null if Slurm did not say. */
  elapsedSeconds: z.nullable(z.number().check(z.int(), z.nonnegative())),
  /** null = no limit (UNLIMITED / INFINITE) or not reported. */
  timeLimitSeconds: z.nullable(z.number().check(z.int(), z.nonnegative())),
  nodes: z.nullable(z.number().check(z.int(), z.nonnegative())),
  nodeList: z.nullable(z.string()),
  /** Why a job pends (`Dependency`, `Priority`, `Resources` …); null when there is none. */
  reason: z.nullable(z.string()),
  dependency: z.nullable(z.string()),
  comment: z.nullable(z.string()),
  /** Times as Slurm prints them (cluster-local, `2026-11-28T13:24:43`); null when not (yet) known. */
  submitTime: z.nullable(z.string()),
  startTime: z.nullable(z.string()),
  endTime: z.nullable(z.string()),
  /** `exit:signal` as Slurm prints it (`0:0`, `1:0`, `0:15`); only scontrol and sacct report it. */
  exitCode: z.nullable(z.string()),
  stdoutPath: z.nullable(z.string()),
  source: JobSource,
});
export type JobInfo = z.infer<typeof JobInfo>;

/** Slurm's "no value" spellings become null. */
export function nullish(v: string | undefined): string | null {
  if (v === undefined) return null;
  const t = v.trim();
  if (t === '' || t === '(null)' || t === 'N/A' || t === 'None' || t === 'Unknown' || t === 'n/a')
    return null;
  return t;
}

/**
 * Slurm durations: `[days-]hours:minutes:seconds`, `minutes:seconds`, `[days-]hours:minutes`,
 * or plain minutes. UNLIMITED / INFINITE / invalid → null.
 */
export function parseSlurmDuration(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const t = raw.trim();
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?(?:\.\d+)?$/.exec(t);
  if (!m) return null;
  const days = Number(m[1] ?? 0);
  const parts = [m[2], m[3], m[4]].filter((x): x is string => x !== undefined).map(Number);
  let secs: number;
  if (m[1] !== undefined) {
    // With days: d-h, d-h:m, d-h:m:s
    const [h = 0, min = 0, s = 0] = parts;
    secs = h * 3600 + min * 60 + s;
  } else if (parts.length === 3) {
    const [h = 0, min = 0, s = 0] = parts;
    secs = h * 3600 + min * 60 + s;
  } else if (parts.length === 2) {
    const [min = 0, s = 0] = parts;
    secs = min * 60 + s;
  } else {
    secs = (parts[0] ?? 0) * 60;
  }
  return days * 86400 + secs;
}
