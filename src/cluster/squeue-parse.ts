import * as z from '../zod.js';
import { type JobInfo, nullish, parseJobState, parseSlurmDuration } from './slurm-job.js';

/**
 * Field separator for squeue -o / sacct --delimiter. Several characters, so a `|` in a job name or comment
 * does not shift the columns; the free-text columns (name, comment) come last and the comment absorbs any
 * leftover separators.
 */
export const FIELD_SEP = '|#|';

// id, state, user, partition, elapsed, time limit, nodes, node list, reason, dependency, submit, start, name, comment
const SQUEUE_FIELDS = [
  '%i',
  '%T',
  '%u',
  '%P',
  '%M',
  '%l',
  '%D',
  '%N',
  '%r',
  '%E',
  '%V',
  '%S',
  '%j',
  '%k',
] as const;

/** The stable `squeue -o` format every squeue call of SlurmClient uses. */
export const SQUEUE_FORMAT = SQUEUE_FIELDS.join(FIELD_SEP);

const JobIdText = z.string().check(z.regex(/^\d+(?:_(?:\d+|\[[^\]\s]*\]))?(?:\+\d+)?$/, 'not a job id'));
const Count = z.string().check(z.regex(/^\d+$/));

export interface ParsedLines<T> {
  jobs: T[];
  /** Lines that did not parse (kept for logs; a strange line must not hide the others). */
  malformed: string[];
}

/** Split on FIELD_SEP into exactly n columns; the last column keeps any extra separators. */
export function splitFields(line: string, n: number): string[] | null {
  const parts = line.split(FIELD_SEP);
  if (parts.length < n) return null;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(FIELD_SEP)];
}

export function parseSqueue(stdout: string): ParsedLines<JobInfo> {
  const jobs: JobInfo[] = [];
  const malformed: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const f = splitFields(line, SQUEUE_FIELDS.length);
    const id = f ? JobIdText.safeParse(f[0]?.trim()) : undefined;
    if (!f || !id?.success) {
      malformed.push(line);
      continue;
    }
    const [
      ,
      state = '',
      user = '',
      partition,
      elapsed,
      limit,
      nodes,
      nodeList,
      reason,
      dep,
      submit,
      start,
      name = '',
      comment,
    ] = f;
    const nodeCount = Count.safeParse(nodes?.trim());
    jobs.push({
      id: id.data,
      state: parseJobState(state),
      rawState: state.trim(),
      name,
      user: user.trim(),
      partition: nullish(partition),
      elapsedSeconds: parseSlurmDuration(elapsed),
      timeLimitSeconds: parseSlurmDuration(limit),
      nodes: nodeCount.success ? Number(nodeCount.data) : null,
      nodeList: nullish(nodeList),
      reason: nullish(reason),
      dependency: nullish(dep),
      comment: nullish(comment),
      submitTime: nullish(submit),
      startTime: nullish(start),
      endTime: null,
      exitCode: null,
      stdoutPath: null,
      source: 'squeue',
    });
  }
  return { jobs, malformed };
}
