import * as z from './zod.js';

// Validators for every value that may end up on a cluster command line. They accept what the cluster uses
// and nothing else, so quoting is a second line of defence, not the only one.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);

/** A Slurm job id: digits, optionally an array task (`123_4`) or a het component (`123+1`). */
export const JobId = z
  .string()
  .check(z.regex(/^[0-9]{1,12}(?:_[0-9]{1,7}|\+[0-9]{1,3})?$/, 'a Slurm job id is digits, like 123456'))
  .brand<'JobId'>();
export type JobId = z.infer<typeof JobId>;

/** Experiment names are directory names under CHECKPOINTS_BASE_DIR. */
export const ExperimentName = z.string().check(
  z.minLength(1, 'the experiment name is empty'),
  z.maxLength(200, 'an experiment name is at most 200 characters'),
  z.regex(
    /^[A-Za-z0-9][A-Za-z0-9._+-]*$/,
    'an experiment name uses letters, digits, ".", "_", "+" and "-", and starts with a letter or digit',
  ),
  z.refine((s) => !s.includes('..'), 'an experiment name cannot contain ".."'),
);
export type ExperimentName = z.infer<typeof ExperimentName>;

/** An absolute path with no `..` segments and only characters seen in cluster paths. */
export const AbsPath = z.string().check(
  z.maxLength(4096, 'a path is at most 4096 characters'),
  z.refine(noControl, 'a path cannot contain newlines or control characters'),
  z.refine((s) => s.startsWith('/'), 'the path must be absolute (start with /)'),
  z.refine((s) => !s.split('/').includes('..'), 'the path cannot contain ".." segments'),
  z.refine((s) => /^[A-Za-z0-9._+@=,:/ -]+$/.test(s), 'the path has characters a cluster path never uses'),
);
export type AbsPath = z.infer<typeof AbsPath>;

/** Slurm job names (`--job-name`): no spaces or shell-ish characters. */
export const SlurmJobName = z
  .string()
  .check(
    z.minLength(1, 'the job name is empty'),
    z.maxLength(128, 'a job name is at most 128 characters'),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'a job name uses letters, digits, ".", "_", "+" and "-"'),
  );
export type SlurmJobName = z.infer<typeof SlurmJobName>;

/** A Slurm partition name (`--partition`). */
export const SlurmPartition = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a partition name uses letters, digits, ".", "_" and "-"'),
  );

/** Slurm time (`--time`): `minutes`, `m:s`, `h:m:s`, `d-h`, `d-h:m`, `d-h:m:s`. */
export const SlurmTime = z
  .string()
  .check(
    z.regex(/^(?:\d{1,3}-)?\d{1,5}(?::\d{1,2}){0,2}$/, 'a time limit looks like 30, 2:00:00 or 1-12:00:00'),
  );

/** A checkpoint step number (the N of global_stepN). */
export const Step = z.coerce
  .number({ error: 'a step is a whole number' })
  .check(
    z.int('a step is a whole number'),
    z.gte(0, 'a step cannot be negative'),
    z.lte(1e9, 'that step is too large'),
  );
export type Step = z.infer<typeof Step>;

/** A Hugging Face organisation or user name. */
export const HfOrg = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(96, 'a Hub organisation name is at most 96 characters'),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a Hub organisation uses letters, digits, ".", "_" and "-"'),
  );
export type HfOrg = z.infer<typeof HfOrg>;

/** A unix user name, as squeue -u takes it. */
export const UnixUser = z
  .string()
  .check(
    z.regex(
      /^[a-z_][a-z0-9._-]{0,31}$/,
      'a cluster user name is lower-case letters, digits, ".", "_" and "-"',
    ),
  );
export type UnixUser = z.infer<typeof UnixUser>;

/** Environment variable name for sbatch --export. */
export const EnvName = z
  .string()
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name'));
