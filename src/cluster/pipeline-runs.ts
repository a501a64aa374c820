import { ClusterError, trimStderr } from '../errors.js';
import { jobIdFromLogName, PIPELINE_LINE_PATTERNS, parsePipelineLines } from '../pipeline/pipeline-log.js';
import { loadRemoteScript, scriptAuditArgv } from './remote-script.js';
import type { SlurmClient } from './slurm.js';
import type { Transport } from './transport.js';

// Checkpoint-pipeline runs on the cluster, each question a single remote command whatever the number of
// runs: submit one, find one submitted but not recorded (a crash between sbatch and saving its id), list
// the logs written lately, ask the state of every tracked run at once, read the lines of a log that matter.

export interface PipelineSubmission {
  readonly script: string;
  readonly args: readonly string[];
  /** Exported on top of the caller's environment (`--export=ALL,K=V,…`). */
  readonly env: Readonly<Record<string, string>>;
  readonly jobName: string;
  /** Slurm log path (`%j` allowed). */
  readonly output: string;
  /** Marks the run as ours; lets a resumed job find it by name + comment. */
  readonly comment: string;
}

/** A pipeline log written lately, and which checkpoint its first lines name. */
export interface RecentRun {
  readonly slurmJobId: string;
  readonly experiment: string | null;
  readonly step: number | null;
}

export interface TrackedState {
  readonly state: string;
}

const READ_LOG = loadRemoteScript('pipeline-log-lines.sh');
const RECENT_LOGS = loadRemoteScript('pipeline-recent-logs.sh');
const LOG_ENDS = loadRemoteScript('pipeline-log-ends.sh');

/** What pipeline-log-ends.sh says about one log. */
export type LogEnd = 'ended' | 'running' | 'missing';

/** Submits and watches through the SlurmClient (batched squeue); reads logs through the transport. */
export class PipelineRuns {
  constructor(
    private readonly slurm: SlurmClient,
    private readonly transport: Transport,
    private readonly timeoutMs = 60_000,
  ) {}

  async submit(s: PipelineSubmission): Promise<string> {
    const r = await this.slurm.submit({
      script: s.script,
      args: [...s.args],
      jobName: s.jobName,
      export: { ...s.env },
      comment: s.comment,
      output: s.output,
    });
    return r.jobId;
  }

  /** Runs still known to Slurm with this job name and comment (normally zero or one). */
  async findSubmitted(jobName: string, comment: string): Promise<string[]> {
    const argv = ['squeue', '-h', `--name=${jobName}`, '-o', '%i|%k'];
    const r = await this.transport.run(argv, { timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) {
      throw new ClusterError('squeue failed', { argv, exitCode: r.exitCode, stderr: trimStderr(r.stderr) });
    }
    return r.stdout
      .split('\n')
      .map((l) => l.trim().split('|'))
      .filter(([id, c]) => id && /^\d+$/.test(id) && c === comment)
      .map(([id]) => id as string);
  }

  /** Pipeline logs in `<logsDir>/checkpoint_pipeline` modified after `sinceS` (epoch seconds), in one command. */
  async recentRuns(logsDir: string, sinceS: number): Promise<RecentRun[]> {
    const operands = [`${logsDir.replace(/\/+$/, '')}/checkpoint_pipeline`, String(Math.floor(sinceS))];
    const r = await this.transport.runScript(RECENT_LOGS, operands, {
      timeoutMs: this.timeoutMs,
      maxOutputBytes: 4 << 20,
    });
    if (r.exitCode !== 0) {
      throw new ClusterError('listing recent pipeline logs failed', {
        argv: scriptAuditArgv(RECENT_LOGS, operands),
        exitCode: r.exitCode,
        stderr: trimStderr(r.stderr),
      });
    }
    return parseRecentRuns(r.stdout);
  }

  /** One squeue for all ids; an id missing from the map has left the queue (ended). */
  async states(ids: readonly string[]): Promise<Map<string, TrackedState>> {
    const out = new Map<string, TrackedState>();
    if (ids.length === 0) return out;
    for (const [id, job] of await this.slurm.jobs(ids)) if (job) out.set(id, { state: job.state });
    return out;
  }

  /**
   * The logs' sizes without running a command (the stat agent over SSH, fs locally); null for a log that
   * does not exist yet. Resolves null as a whole when the transport cannot stat that way right now.
   */
  async logSizes(paths: readonly string[]): Promise<(number | null)[] | null> {
    if (!this.transport.statPaths || paths.length === 0) return null;
    const stats = await this.transport.statPaths(paths, { timeoutMs: Math.min(this.timeoutMs, 5_000) });
    return stats ? stats.map((s) => s?.size ?? null) : null;
  }

  /** Whether each log has reached its completion line (docs/domain.md#checkpoint-pipeline), in one command. */
  async logEnds(paths: readonly string[]): Promise<LogEnd[]> {
    if (paths.length === 0) return [];
    const r = await this.transport.runScript(LOG_ENDS, paths, { timeoutMs: this.timeoutMs });
    const answers = r.stdout.split('\n').filter((l) => l !== '');
    if (r.exitCode !== 0 || answers.length !== paths.length || answers.some((a) => !isLogEnd(a))) {
      throw new ClusterError('checking pipeline logs for their completion line failed', {
        argv: scriptAuditArgv(LOG_ENDS, paths),
        exitCode: r.exitCode,
        stderr: trimStderr(r.stderr),
      });
    }
    return answers as LogEnd[];
  }

  /** The log's telling lines (pattern matches + its last lines), or null when the log does not exist. */
  async readLog(path: string): Promise<string[] | null> {
    const patterns = PIPELINE_LINE_PATTERNS.flatMap((p) => ['-e', p]);
    const r = await this.transport.runScript(READ_LOG, [path, ...patterns], {
      timeoutMs: this.timeoutMs,
      maxOutputBytes: 4 << 20,
    });
    return parseLogLines(r.stdout);
  }
}

function isLogEnd(s: string): s is LogEnd {
  return s === 'ended' || s === 'running' || s === 'missing';
}

/** pipeline-recent-logs.sh's output: a `==> <name>` line per log, then the lines naming its checkpoint. */
export function parseRecentRuns(stdout: string): RecentRun[] {
  const runs: RecentRun[] = [];
  let id: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    if (id === null) return;
    const run = parsePipelineLines(lines, { jobId: id });
    runs.push({ slurmJobId: id, experiment: run.experiment, step: run.step });
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('==> ')) {
      flush();
      id = jobIdFromLogName(line.slice(4));
      lines = [];
    } else if (line !== '') lines.push(line);
  }
  flush();
  return runs;
}

/** pipeline-log-lines.sh's output → the matching lines then the tail's other lines; null for @@missing@@. */
export function parseLogLines(stdout: string): string[] | null {
  const lines = stdout.split('\n');
  if (lines[0] === '@@missing@@') return null;
  const cut = lines.indexOf('@@tail@@');
  const matched = cut >= 0 ? lines.slice(0, cut) : lines;
  // Tail lines the grep already returned would be counted twice.
  const tail =
    cut >= 0 ? lines.slice(cut + 1).filter((l) => !PIPELINE_LINE_PATTERNS.some((p) => l.includes(p))) : [];
  return [...matched, ...tail].filter((l) => l !== '');
}
