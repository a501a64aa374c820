import type { SlurmClient } from '../cluster/slurm.js';
import type { Transport } from '../cluster/transport.js';
import { ClusterError, trimStderr } from '../errors.js';
import { jobIdFromLogName, PIPELINE_LINE_PATTERNS, parsePipelineLines } from '../pipeline/pipeline-log.js';

// Everything the upload queue does on the cluster, each a single remote command whatever the number of
// jobs: submit one pipeline run, find a run we submitted but did not record (crash between sbatch and
// saving its id), ask the state of every tracked run at once, read the lines of a log that matter.

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

export interface PipelineCluster {
  submit(s: PipelineSubmission): Promise<string>;
  /** Runs still known to Slurm with this job name and comment (normally zero or one). */
  findSubmitted(jobName: string, comment: string): Promise<string[]>;
  /** Pipeline logs in `<logsDir>/checkpoint_pipeline` modified after `sinceS` (epoch seconds), in one command. */
  recentRuns(logsDir: string, sinceS: number): Promise<RecentRun[]>;
  /** One squeue for all ids; an id missing from the map has left the queue (ended). */
  states(ids: readonly string[]): Promise<Map<string, TrackedState>>;
  /** The log's telling lines (pattern matches + its last lines), or null when the log does not exist. */
  readLog(path: string): Promise<string[] | null>;
}

const TAIL_LINES = 20;
// grep the lines the parser needs, then the tail (for the "other" cause's error line). Fixed script,
// arguments only as positional parameters, so nothing from the user is ever parsed by the shell.
// One line: transports refuse arguments with newlines.
const READ_LOG_SCRIPT = `f=$1; shift; [ -r "$f" ] || { echo "@@missing@@"; exit 0; }; grep -F "$@" -- "$f"; echo "@@tail@@"; tail -n ${TAIL_LINES} -- "$f"`;

// Logs modified since $2 (epoch seconds), each as a `==> name` line and the experiment/step lines of its
// first 4 KB. Few files (a few minutes' worth), so a loop per file is fine.
const RECENT_RUNS_SCRIPT = `cd -- "$1" 2>/dev/null || exit 0; find . -maxdepth 1 -type f -name 'checkpoint_pipeline_*.out' -newermt "@$2" | while IFS= read -r f; do printf '==> %s\\n' "\${f#./}"; head -c 4096 -- "$f" | grep -a -F -e 'Experiment:' -e 'Checkpoint:' -e 'Processing checkpoint'; done; exit 0`;

/** Submits and watches through H-A's SlurmClient (batched squeue); reads logs through the transport. */
export class SlurmPipelineCluster implements PipelineCluster {
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

  async recentRuns(logsDir: string, sinceS: number): Promise<RecentRun[]> {
    const dir = `${logsDir.replace(/\/+$/, '')}/checkpoint_pipeline`;
    const argv = ['sh', '-c', RECENT_RUNS_SCRIPT, 'recent-runs', dir, String(Math.floor(sinceS))];
    const r = await this.transport.run(argv, { timeoutMs: this.timeoutMs, maxOutputBytes: 4 << 20 });
    if (r.exitCode !== 0) {
      throw new ClusterError('listing recent pipeline logs failed', {
        argv,
        exitCode: r.exitCode,
        stderr: trimStderr(r.stderr),
      });
    }
    const runs: RecentRun[] = [];
    let id: string | null = null;
    let lines: string[] = [];
    const flush = () => {
      if (id === null) return;
      const run = parsePipelineLines(lines, { jobId: id });
      runs.push({ slurmJobId: id, experiment: run.experiment, step: run.step });
    };
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('==> ')) {
        flush();
        id = jobIdFromLogName(line.slice(4));
        lines = [];
      } else if (line !== '') lines.push(line);
    }
    flush();
    return runs;
  }

  async states(ids: readonly string[]): Promise<Map<string, TrackedState>> {
    const out = new Map<string, TrackedState>();
    if (ids.length === 0) return out;
    for (const [id, job] of await this.slurm.jobs(ids)) if (job) out.set(id, { state: job.state });
    return out;
  }

  async readLog(path: string): Promise<string[] | null> {
    const patterns = PIPELINE_LINE_PATTERNS.flatMap((p) => ['-e', p]);
    const argv = ['sh', '-c', READ_LOG_SCRIPT, 'read-log', path, ...patterns];
    const r = await this.transport.run(argv, { timeoutMs: this.timeoutMs, maxOutputBytes: 4 << 20 });
    const lines = r.stdout.split('\n');
    if (lines[0] === '@@missing@@') return null;
    const cut = lines.indexOf('@@tail@@');
    const matched = cut >= 0 ? lines.slice(0, cut) : lines;
    // Tail lines the grep already returned would be counted twice.
    const tail =
      cut >= 0 ? lines.slice(cut + 1).filter((l) => !PIPELINE_LINE_PATTERNS.some((p) => l.includes(p))) : [];
    return [...matched, ...tail].filter((l) => l !== '');
  }
}
