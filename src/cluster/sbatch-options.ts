import { AbsPath, EnvName, JobId, SlurmJobName, SlurmPartition, SlurmTime } from '../args.js';
import * as z from '../zod.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

/** An argument handed to the batch script (after `--` and the script path, so sbatch never reads it). */
export const ScriptArg = z
  .string()
  .check(
    z.maxLength(4096, 'a script argument is at most 4096 characters'),
    z.refine(noControl, 'a script argument cannot contain newlines or control characters'),
  );

/** `--output`/`--error`: an absolute path that may use Slurm's filename patterns (%j, %x, %A, %a …). */
export const SlurmOutputPath = z.string().check(
  z.maxLength(4096, 'a path is at most 4096 characters'),
  z.refine(noControl, 'a path cannot contain newlines or control characters'),
  z.refine((s) => s.startsWith('/'), 'the output path must be absolute (start with /)'),
  z.refine((s) => !s.split('/').includes('..'), 'the output path cannot contain ".." segments'),
  z.refine(
    (s) => /^[A-Za-z0-9._+@=,:/%-]+$/.test(s),
    'the output path uses letters, digits, "/", ".", "_", "-", "+", "@", "=", ",", ":" and % patterns only',
  ),
);

/** Values for `--export`: sbatch splits the list on commas, so a comma (or quote) can never be in a value. */
const ExportValue = z.string().check(
  z.maxLength(4096, 'an exported value is at most 4096 characters'),
  z.refine(noControl, 'an exported value cannot contain newlines or control characters'),
  z.refine(
    (s) => /^[A-Za-z0-9._+@=:/%~ -]*$/.test(s),
    'an exported value cannot contain commas, quotes or shell characters',
  ),
);

const Comment = z
  .string()
  .check(
    z.maxLength(1000, 'a comment is at most 1000 characters'),
    z.refine(noControl, 'a comment cannot contain newlines or control characters'),
  );

const Dependency = z.union([
  z.literal('singleton'),
  z.object({
    type: z.enum(['afterok', 'afterany', 'afternotok', 'after']),
    jobIds: z.array(JobId).check(z.minLength(1, 'a dependency names at least one job')),
  }),
]);

export const SubmitOptions = z.object({
  /** The batch script, on the cluster's filesystem. */
  script: AbsPath,
  args: z._default(z.array(ScriptArg).check(z.maxLength(100, 'at most 100 script arguments')), []),
  jobName: SlurmJobName,
  /** `singleton`: one running job per name and user; later ones wait (docs/domain.md#slurm). */
  dependency: z.optional(Dependency),
  /** 'ALL' | 'NONE', or variables to add to the submitting environment (`--export=ALL,K=V`). */
  export: z.optional(z.union([z.literal('ALL'), z.literal('NONE'), z.record(EnvName, ExportValue)])),
  comment: z.optional(Comment),
  chdir: z.optional(AbsPath),
  output: z.optional(SlurmOutputPath),
  error: z.optional(SlurmOutputPath),
  partition: z.optional(SlurmPartition),
  time: z.optional(SlurmTime),
  nodes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(100_000))),
  ntasksPerNode: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1024))),
  cpusPerTask: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1024))),
  gpusPerNode: z.optional(z.number().check(z.int(), z.gte(0), z.lte(64))),
  mem: z.optional(z.string().check(z.regex(/^\d{1,9}[KMGT]?$/, 'memory looks like 16000, 64G or 512M'))),
  account: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
          'an account name uses letters, digits, ".", "_" and "-"',
        ),
      ),
  ),
  qos: z.optional(
    z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a QOS name uses letters, digits, ".", "_" and "-"'),
      ),
  ),
  /** Submit held (`--hold`): the job stays PENDING until released. */
  hold: z.optional(z.boolean()),
});
export type SubmitOptions = z.input<typeof SubmitOptions>;
type Parsed = z.output<typeof SubmitOptions>;

/**
 * sbatch argv from validated options. Every option uses the `--name=value` form, so a value can never be
 * read as the next option; `--` ends sbatch's options before the script, so script arguments such as
 * `--wrap=id` reach the script as plain words.
 */
export function buildSbatchArgv(o: Parsed): string[] {
  const argv = ['sbatch', '--parsable', `--job-name=${o.jobName}`];
  if (o.dependency === 'singleton') argv.push('--dependency=singleton');
  else if (o.dependency) argv.push(`--dependency=${o.dependency.type}:${o.dependency.jobIds.join(':')}`);
  if (o.export !== undefined) {
    if (typeof o.export === 'string') argv.push(`--export=${o.export}`);
    else {
      const vars = Object.entries(o.export).map(([k, v]) => `${k}=${v}`);
      argv.push(`--export=${['ALL', ...vars].join(',')}`);
    }
  }
  if (o.comment !== undefined) argv.push(`--comment=${o.comment}`);
  if (o.chdir !== undefined) argv.push(`--chdir=${o.chdir}`);
  if (o.output !== undefined) argv.push(`--output=${o.output}`);
  if (o.error !== undefined) argv.push(`--error=${o.error}`);
  if (o.partition !== undefined) argv.push(`--partition=${o.partition}`);
  if (o.time !== undefined) argv.push(`--time=${o.time}`);
  if (o.nodes !== undefined) argv.push(`--nodes=${o.nodes}`);
  if (o.ntasksPerNode !== undefined) argv.push(`--ntasks-per-node=${o.ntasksPerNode}`);
  if (o.cpusPerTask !== undefined) argv.push(`--cpus-per-task=${o.cpusPerTask}`);
  if (o.gpusPerNode !== undefined) argv.push(`--gpus-per-node=${o.gpusPerNode}`);
  if (o.mem !== undefined) argv.push(`--mem=${o.mem}`);
  if (o.account !== undefined) argv.push(`--account=${o.account}`);
  if (o.qos !== undefined) argv.push(`--qos=${o.qos}`);
  if (o.hold) argv.push('--hold');
  argv.push('--', o.script, ...o.args);
  return argv;
}

/** `sbatch --parsable` prints `jobid` or `jobid;cluster` (plus possibly warnings on stderr). */
export function parseSbatchParsable(stdout: string): { jobId: JobId; cluster: string | null } | null {
  const line = stdout
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
  const m = line ? /^(\d+)(?:;(\S+))?$/.exec(line) : null;
  if (!m?.[1]) return null;
  const id = JobId.safeParse(m[1]);
  return id.success ? { jobId: id.data, cluster: m[2] ?? null } : null;
}
