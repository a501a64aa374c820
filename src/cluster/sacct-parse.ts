import { type JobInfo, nullish, parseJobState, parseSlurmDuration } from './slurm-job.js';
import { FIELD_SEP, type ParsedLines, splitFields } from './squeue-parse.js';

const SACCT_FIELDS = [
  'JobIDRaw',
  'State',
  'User',
  'Partition',
  'ElapsedRaw',
  'TimelimitRaw',
  'NNodes',
  'NodeList',
  'Reason',
  'ExitCode',
  'Submit',
  'Start',
  'End',
  'JobName',
  'Comment',
] as const;

/** `sacct -o` field list (free text last, like squeue). */
export const SACCT_FORMAT = SACCT_FIELDS.join(',');
export { FIELD_SEP as SACCT_DELIMITER };

/** Parse `sacct -n -P -X --delimiter=FIELD_SEP -o SACCT_FORMAT` output. */
export function parseSacct(stdout: string): ParsedLines<JobInfo> {
  const jobs: JobInfo[] = [];
  const malformed: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const f = splitFields(line, SACCT_FIELDS.length);
    const id = f?.[0]?.trim() ?? '';
    if (!f || !/^\d+(?:_\d+)?(?:\+\d+)?$/.test(id)) {
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
      exit,
      submit,
      start,
      end,
      name = '',
      comment,
    ] = f;
    const seconds = (v: string | undefined) => (v && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
    const limitMin = seconds(limit);
    jobs.push({
      id,
      state: parseJobState(state),
      rawState: state.trim(),
      name,
      user: user.trim(),
      partition: nullish(partition),
      elapsedSeconds: seconds(elapsed) ?? parseSlurmDuration(elapsed),
      // TimelimitRaw is in minutes.
      timeLimitSeconds: limitMin === null ? null : limitMin * 60,
      nodes: seconds(nodes),
      nodeList: nullish(nodeList),
      reason: nullish(reason),
      dependency: null,
      comment: nullish(comment),
      submitTime: nullish(submit),
      startTime: nullish(start),
      endTime: nullish(end),
      exitCode: nullish(exit),
      stdoutPath: null,
      source: 'sacct',
    });
  }
  return { jobs, malformed };
}
