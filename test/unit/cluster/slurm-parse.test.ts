import { describe, expect, it } from 'vitest';
import { JobId } from '../../../src/args.js';
import { parseSacct, SACCT_FORMAT } from '../../../src/cluster/sacct-parse.js';
import { buildSbatchArgv, parseSbatchParsable, SubmitOptions } from '../../../src/cluster/sbatch-options.js';
import { parseScontrolLine, scontrolToJob } from '../../../src/cluster/scontrol-parse.js';
import {
  isActiveState,
  isFinishedState,
  JobInfo,
  parseJobState,
  parseSlurmDuration,
} from '../../../src/cluster/slurm-job.js';
import { FIELD_SEP, parseSqueue, SQUEUE_FORMAT } from '../../../src/cluster/squeue-parse.js';

const row = (...fields: string[]) => fields.join(FIELD_SEP);

describe('job states', () => {
  it('maps every Slurm spelling, and anything unknown to "unknown" without throwing', () => {
    expect(parseJobState('RUNNING')).toBe('RUNNING');
    expect(parseJobState(' pending ')).toBe('PENDING');
    expect(parseJobState('CANCELLED by 1234')).toBe('CANCELLED');
    expect(parseJobState('OUT_OF_MEMORY')).toBe('OUT_OF_MEMORY');
    expect(parseJobState('QUANTUM_ENTANGLED')).toBe('unknown');
    expect(parseJobState('')).toBe('unknown');
    expect(parseJobState('RUNNING;rm -rf /')).toBe('unknown');
  });

  it('treats unknown as still active, so a watcher does not give up on a job', () => {
    expect(isActiveState('PENDING')).toBe(true);
    expect(isActiveState('COMPLETING')).toBe(true);
    expect(isActiveState('unknown')).toBe(true);
    for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'] as const) {
      expect(isFinishedState(s)).toBe(true);
    }
  });
});

describe('parseSlurmDuration', () => {
  it.each([
    ['0:00', 0],
    ['5:00', 300],
    ['1:02:03', 3723],
    ['2-03:04:05', 2 * 86400 + 3 * 3600 + 4 * 60 + 5],
    ['1-00:00:00', 86400],
    ['3-12', 3 * 86400 + 12 * 3600],
    ['30', 1800],
    ['UNLIMITED', null],
    ['INFINITE', null],
    ['INVALID', null],
    ['N/A', null],
  ])('%s → %s', (raw, secs) => {
    expect(parseSlurmDuration(raw)).toBe(secs);
  });
});

describe('parseSqueue', () => {
  it('uses one stable -o format with the free-text fields last', () => {
    expect(SQUEUE_FORMAT).toBe(
      ['%i', '%T', '%u', '%P', '%M', '%l', '%D', '%N', '%r', '%E', '%V', '%S', '%j', '%k'].join(FIELD_SEP),
    );
  });

  it('parses running and pending rows as squeue 22.05 prints them', () => {
    const out = [
      row(
        '3',
        'PENDING',
        'root',
        'debug',
        '0:00',
        'UNLIMITED',
        '1',
        '',
        'Dependency',
        'singleton(unfulfilled)',
        '2026-11-28T13:24:43',
        'N/A',
        'same',
        '(null)',
      ),
      row(
        '2',
        'RUNNING',
        'kyle',
        'debug',
        '1-02:00:03',
        '2-00:00:00',
        '4',
        'gpu[001-004]',
        'None',
        '(null)',
        '2026-11-28T13:24:43',
        '2026-11-28T13:24:43',
        'neox-1.3b',
        'hello | world',
      ),
      '',
    ].join('\n');
    const { jobs, malformed } = parseSqueue(out);
    expect(malformed).toEqual([]);
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(JobInfo.safeParse(j).success).toBe(true);
    expect(jobs[0]).toMatchObject({
      id: '3',
      state: 'PENDING',
      reason: 'Dependency',
      dependency: 'singleton(unfulfilled)',
      nodeList: null,
      startTime: null,
      comment: null,
      timeLimitSeconds: null,
      source: 'squeue',
    });
    expect(jobs[1]).toMatchObject({
      id: '2',
      state: 'RUNNING',
      user: 'kyle',
      nodes: 4,
      nodeList: 'gpu[001-004]',
      elapsedSeconds: 93603,
      timeLimitSeconds: 172800,
      reason: null,
      name: 'neox-1.3b',
      comment: 'hello | world',
    });
  });

  it('keeps an unknown state as "unknown" with the raw text, and skips malformed lines without losing the rest', () => {
    const out = [
      'slurm_load_jobs error: something odd',
      row(
        '7',
        'HIBERNATING',
        'root',
        'debug',
        '0:01',
        '5:00',
        '1',
        'n1',
        'None',
        '(null)',
        'x',
        'y',
        'job',
        'c',
      ),
      row(
        'not-an-id',
        'RUNNING',
        'root',
        'debug',
        '0:01',
        '5:00',
        '1',
        'n1',
        'None',
        '(null)',
        'x',
        'y',
        'job',
        'c',
      ),
      row(
        '8_3',
        'RUNNING',
        'root',
        'debug',
        '0:01',
        '5:00',
        '1',
        'n1',
        'None',
        '(null)',
        'x',
        'y',
        'arr',
        'a|#|b',
      ),
    ].join('\n');
    const { jobs, malformed } = parseSqueue(out);
    expect(malformed).toHaveLength(2);
    expect(jobs.map((j) => [j.id, j.state, j.rawState])).toEqual([
      ['7', 'unknown', 'HIBERNATING'],
      ['8_3', 'RUNNING', 'RUNNING'],
    ]);
    // A separator inside the comment stays in the comment.
    expect(jobs[1]?.comment).toBe('a|#|b');
  });
});

describe('scontrol -o show job', () => {
  const line =
    'JobId=4 JobName=other run UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901756 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:01 TimeLimit=00:05:00 TimeMin=N/A SubmitTime=2026-11-28T13:24:43 EligibleTime=2026-11-28T13:24:43 StartTime=2026-11-28T13:24:43 EndTime=2026-11-28T13:24:44 Partition=debug AllocNode:Sid=localhost:7874 ReqNodeList=(null) NodeList=localhost NumNodes=1 NumCPUs=1 ReqB:S:C:T=0:0:*:* Socks/Node=* Comment=two words here WorkDir=/tmp/x StdErr=/tmp/x/out 1.txt StdIn=/dev/null StdOut=/tmp/x/out 1.txt Power= ';

  it('splits key=value pairs and keeps spaces inside values', () => {
    const kv = parseScontrolLine(line);
    expect(kv.get('JobName')).toBe('other run');
    expect(kv.get('AllocNode:Sid')).toBe('localhost:7874');
    expect(kv.get('ReqB:S:C:T')).toBe('0:0:*:*');
    expect(kv.get('Comment')).toBe('two words here');
    expect(kv.get('StdOut')).toBe('/tmp/x/out 1.txt');
    expect(kv.get('Power')).toBe('');
  });

  it('maps a finished job', () => {
    const j = scontrolToJob(line);
    expect(j).toMatchObject({
      id: '4',
      name: 'other run',
      user: 'root',
      state: 'COMPLETED',
      exitCode: '3:0',
      elapsedSeconds: 1,
      timeLimitSeconds: 300,
      endTime: '2026-11-28T13:24:44',
      stdoutPath: '/tmp/x/out 1.txt',
      reason: null,
      dependency: null,
      source: 'scontrol',
    });
    expect(JobInfo.safeParse(j).success).toBe(true);
  });

  it('returns null for something that is not a job record', () => {
    expect(scontrolToJob('slurm_load_jobs error: Invalid job id specified')).toBeNull();
    expect(scontrolToJob('JobId=1;id JobState=RUNNING')).toBeNull();
  });
});

describe('sacct', () => {
  it('parses --parsable2 output with our delimiter', () => {
    expect(SACCT_FORMAT.split(',')).toContain('JobIDRaw');
    const out = [
      row(
        '11',
        'CANCELLED by 0',
        'kyle',
        'debug',
        '65',
        '60',
        '2',
        'gpu[1-2]',
        'None',
        '0:15',
        's',
        'st',
        'en',
        'train',
        '',
      ),
      row(
        '12',
        'TIMEOUT',
        'kyle',
        'debug',
        '3600',
        'UNLIMITED',
        '1',
        'gpu1',
        'None',
        '0:0',
        's',
        'st',
        'en',
        'x',
        'c',
      ),
    ].join('\n');
    const { jobs } = parseSacct(out);
    expect(jobs.map((j) => [j.id, j.state, j.elapsedSeconds, j.timeLimitSeconds, j.exitCode])).toEqual([
      ['11', 'CANCELLED', 65, 3600, '0:15'],
      ['12', 'TIMEOUT', 3600, null, '0:0'],
    ]);
  });
});

describe('sbatch', () => {
  it('parses --parsable output with or without a cluster, ignoring warning lines', () => {
    expect(parseSbatchParsable('123\n')).toEqual({ jobId: '123', cluster: null });
    expect(parseSbatchParsable('456;cluster1\n')).toEqual({ jobId: '456', cluster: 'cluster1' });
    expect(parseSbatchParsable('sbatch: warning: something\n789\n')).toEqual({ jobId: '789', cluster: null });
    expect(parseSbatchParsable('Submitted batch job 5')).toBeNull();
    expect(parseSbatchParsable('')).toBeNull();
  });

  it('builds argv with --name=value options, then --, the script and its arguments', () => {
    const argv = buildSbatchArgv(
      SubmitOptions.parse({
        script: '/opt/neox/pretrain.sbatch',
        args: ['--wrap=id', 'cfg.yml'],
        jobName: 'neox-1b',
        dependency: 'singleton',
        export: { CHECKPOINTS_BASE_DIR: '/ckpt', SKIP_NEOX_UPLOAD: '1' },
        comment: 'by U123 via chatops',
        output: '/logs/%x_%j.out',
        time: '2-00:00:00',
        nodes: 4,
        hold: true,
      }),
    );
    expect(argv).toEqual([
      'sbatch',
      '--parsable',
      '--job-name=neox-1b',
      '--dependency=singleton',
      '--export=ALL,CHECKPOINTS_BASE_DIR=/ckpt,SKIP_NEOX_UPLOAD=1',
      '--comment=by U123 via chatops',
      '--output=/logs/%x_%j.out',
      '--time=2-00:00:00',
      '--nodes=4',
      '--hold',
      '--',
      '/opt/neox/pretrain.sbatch',
      '--wrap=id',
      'cfg.yml',
    ]);
    const dep = buildSbatchArgv(
      SubmitOptions.parse({
        script: '/s.sh',
        jobName: 'x',
        dependency: { type: 'afterok', jobIds: [JobId.parse('1'), JobId.parse('2')] },
        export: 'NONE',
      }),
    );
    expect(dep).toContain('--dependency=afterok:1:2');
    expect(dep).toContain('--export=NONE');
  });
});
