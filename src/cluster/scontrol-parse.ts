import { type JobInfo, nullish, parseJobState, parseSlurmDuration } from './slurm-job.js';

// A key in `scontrol -o show job` output: `JobId`, `AllocNode:Sid`, `Socks/Node`, `ReqB:S:C:T` …
const KEY = /^([A-Za-z][A-Za-z0-9_:/]*)=(.*)$/s;

/**
 * Parse one `scontrol -o show …` line into key → value. Values may contain spaces (a comment, a path):
 * a word that does not start a new `Key=` continues the previous value.
 */
export function parseScontrolLine(line: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const word of line.trim().split(' ')) {
    const m = KEY.exec(word);
    if (m?.[1] !== undefined && !out.has(m[1])) {
      last = m[1];
      out.set(last, m[2] ?? '');
    } else if (last !== undefined) {
      out.set(last, `${out.get(last)} ${word}`);
    }
  }
  return out;
}

const JOB_ID = /^\d+(?:_\d+)?(?:\+\d+)?$/;

/** A job from `scontrol -o show job <id>`; null if the line is not a job record. */
export function scontrolToJob(line: string): JobInfo | null {
  const kv = parseScontrolLine(line);
  const id = kv.get('JobId');
  const rawState = kv.get('JobState');
  if (id === undefined || !JOB_ID.test(id) || rawState === undefined) return null;
  const array = kv.get('ArrayJobId');
  const task = kv.get('ArrayTaskId');
  const nodes = kv.get('NumNodes');
  return {
    id: array && task && /^\d+$/.test(task) ? `${array}_${task}` : id,
    state: parseJobState(rawState),
    rawState,
    name: kv.get('JobName') ?? '',
    // UserId=root(0)
    user: (kv.get('UserId') ?? '').replace(/\(\d+\)$/, ''),
    partition: nullish(kv.get('Partition')),
    elapsedSeconds: parseSlurmDuration(kv.get('RunTime')),
    timeLimitSeconds: parseSlurmDuration(kv.get('TimeLimit')),
    nodes: nodes && /^\d+$/.test(nodes) ? Number(nodes) : null,
    nodeList: nullish(kv.get('NodeList')),
    reason: nullish(kv.get('Reason')),
    dependency: nullish(kv.get('Dependency')),
    comment: nullish(kv.get('Comment')),
    submitTime: nullish(kv.get('SubmitTime')),
    startTime: nullish(kv.get('StartTime')),
    endTime: nullish(kv.get('EndTime')),
    exitCode: nullish(kv.get('ExitCode')),
    stdoutPath: nullish(kv.get('StdOut')),
    source: 'scontrol',
  };
}
