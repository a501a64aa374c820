import { posix } from 'node:path';
import { AbsPath } from '../args.js';
import type { ConfigProbe, DataFacts, PathFacts } from './config-probe.js';
import { nearest } from './nearest.js';
import type { NeoxConfigSummary } from './neox-config.js';

// Checks a NeoX config before anything is submitted. The probe looks at the cluster's files (the bot may
// run off-cluster) in exactly two round trips: read the config, then check every path it names. This
// file decides what those facts mean. Nothing is ever written to the config.

export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The 50-iteration report needs an iteration line by then; NeoX prints one every log_interval. */
export const MAX_LOG_INTERVAL = 10;

export interface PreflightWarning {
  readonly code: 'log_interval';
  readonly message: string;
}

export interface PreflightResult {
  /** The absolute config path that would be submitted. */
  readonly configPath: string;
  /** The path as typed when it was relative (and so resolved against NEOX_DIR). */
  readonly resolvedFrom: string | null;
  /** Blocking problems, each naming the fix. Empty = may submit. */
  readonly problems: readonly string[];
  /** Non-blocking: the user may submit anyway (a button). */
  readonly warnings: readonly PreflightWarning[];
  /** Things worth showing (relative paths resolved, etc.). */
  readonly notes: readonly string[];
  readonly config: NeoxConfigSummary | null;
  /** `save` and `load` made absolute (relative ones resolved against NEOX_DIR), or null. */
  readonly savePath: string | null;
  readonly loadPath: string | null;
  /** `global_step*` numbers that exist under `load`, ascending. */
  readonly existingSteps: readonly number[];
}

export interface PreflightInput {
  readonly config: string;
  readonly neoxDir: string;
  /** `<LOGS_DIR>/training`: Slurm cannot start the job's log without it. */
  readonly logDir?: string;
}

/** What a preflight has found so far; every step appends to it. */
interface Findings {
  readonly problems: string[];
  readonly warnings: PreflightWarning[];
  readonly notes: string[];
}

function validatePath(p: string, what: string, problems: string[]): boolean {
  const r = AbsPath.safeParse(p);
  if (!r.success) {
    problems.push(`${what} \`${p.slice(0, 300)}\`: ${r.error.issues[0]?.message ?? 'invalid path'}`);
    return false;
  }
  return true;
}

/** A relative path in the config is resolved the way NeoX would (the sbatch script runs from NEOX_DIR). */
function absolutise(p: string, neoxDir: string, what: string, notes: string[]): string {
  if (p.startsWith('/')) return p;
  const abs = posix.resolve(neoxDir, p);
  notes.push(`${what} \`${p}\` is relative; NeoX will read \`${abs}\``);
  return abs;
}

/** The config's text, or null with the problem recorded. */
async function readConfig(probe: ConfigProbe, configPath: string, f: Findings): Promise<string | null> {
  const read = await probe.readConfig(configPath, MAX_CONFIG_BYTES + 1);
  switch (read.status) {
    case 'missing':
      f.problems.push(
        `Config \`${configPath}\` does not exist on the cluster. Check the path (it must be absolute).`,
      );
      return null;
    case 'notfile':
      f.problems.push(
        `Config \`${configPath}\` is not a regular file (a directory?). Give the path of the .yml file.`,
      );
      return null;
    case 'unreadable':
      f.problems.push(`Config \`${configPath}\` is not readable. Fix its permissions.`);
      return null;
    case 'ok':
      if (Buffer.byteLength(read.text) > MAX_CONFIG_BYTES) {
        f.problems.push(`Config \`${configPath}\` is larger than 1 MiB: that is not a NeoX config.`);
        return null;
      }
      return read.text;
  }
}

async function parseConfig(text: string, configPath: string, f: Findings): Promise<NeoxConfigSummary | null> {
  // The YAML parser loads with the first config read, not with every command that can submit one.
  const { NeoxConfigError, parseNeoxConfig } = await import('./neox-config.js');
  try {
    return parseNeoxConfig(text);
  } catch (e) {
    if (e instanceof NeoxConfigError) {
      f.problems.push(`Config \`${configPath}\`: ${e.message}`);
      return null;
    }
    throw e;
  }
}

function logIntervalWarning(cfg: NeoxConfigSummary): PreflightWarning | null {
  if (cfg.logInterval <= MAX_LOG_INTERVAL) return null;
  return {
    code: 'log_interval',
    message: `\`log_interval\` is ${cfg.logInterval}${cfg.logIntervalSet ? '' : ' (NeoX default: the config does not set it)'}: no iteration line appears before iteration ${cfg.logInterval}, so the 50-iteration check cannot run. Set \`log_interval\` ≤ ${MAX_LOG_INTERVAL} in the config, or submit anyway. The bot does not edit configs.`,
  };
}

function dataProblem(d: DataFacts): string {
  const missing = [d.bin ? '' : `${d.prefix}.bin`, d.idx ? '' : `${d.prefix}.idx`]
    .filter(Boolean)
    .map((x) => `\`${x}\``)
    .join(' and ');
  const best = nearest(
    d.prefix,
    d.near.map((c) => c.replace(/\.bin$/, '')),
  );
  return (
    `Data path \`${d.prefix}\` does not exist: missing ${missing}.` +
    (best === null ? '' : ` Nearest existing data: \`${best}\`.`)
  );
}

/** The problems the path facts show, in the order a person fixes them: logs, save, load, data, resume. */
function pathProblems(
  facts: PathFacts,
  paths: { readonly save: string; readonly load: string; readonly logDir: string; readonly iter: string },
  steps: readonly number[],
): string[] {
  const problems: string[] = [];
  if (facts.logDir === 'missing') {
    problems.push(
      `The training log directory \`${paths.logDir}\` does not exist: Slurm could not write the job's log. Create it or fix LOGS_DIR.`,
    );
  }
  if (facts.save === 'missing')
    problems.push(
      `\`save\` directory \`${paths.save}\` does not exist. Create it (mkdir -p) or fix the path.`,
    );
  if (facts.save === 'notdir') problems.push(`\`save\` \`${paths.save}\` exists but is not a directory.`);
  if (facts.save === 'notwritable')
    problems.push(`\`save\` directory \`${paths.save}\` is not writable by the training job's user.`);
  if (facts.load === 'missing') problems.push(`\`load\` directory \`${paths.load}\` does not exist.`);
  for (const d of facts.data) if (!d.bin || !d.idx) problems.push(dataProblem(d));
  if (paths.iter !== '' && facts.checkpoint === 'missing') {
    const listed =
      steps.length === 0 ? 'none exist there' : `existing: ${steps.map((s) => `global_step${s}`).join(', ')}`;
    problems.push(
      `\`iteration: ${paths.iter}\` but \`${paths.load}/global_step${paths.iter}\` does not exist (${listed}).` +
        (steps.length > 0 ? ` Set \`iteration: ${steps.at(-1)}\` to resume from the newest.` : ''),
    );
  }
  return problems;
}

export async function preflight(probe: ConfigProbe, input: PreflightInput): Promise<PreflightResult> {
  const f: Findings = { problems: [], warnings: [], notes: [] };
  const typed = input.config.trim();
  const relative = !typed.startsWith('/');
  const configPath = relative ? posix.resolve(input.neoxDir, typed) : posix.normalize(typed);
  let savePath: string | null = null;
  let loadPath: string | null = null;
  const result = (
    config: NeoxConfigSummary | null,
    existingSteps: readonly number[] = [],
  ): PreflightResult => ({
    configPath,
    savePath,
    loadPath,
    resolvedFrom: relative ? typed : null,
    ...f,
    config,
    existingSteps,
  });
  if (relative) {
    f.notes.push(
      `Config paths must be absolute (the training script changes directory). \`${typed}\` was resolved against NEOX_DIR to \`${configPath}\`.`,
    );
  }
  if (!validatePath(configPath, 'Config path', f.problems)) return result(null);

  const text = await readConfig(probe, configPath, f);
  const cfg = text === null ? null : await parseConfig(text, configPath, f);
  if (cfg === null) return result(null);
  const warning = logIntervalWarning(cfg);
  if (warning) f.warnings.push(warning);

  const save = cfg.save === null ? '' : absolutise(cfg.save, input.neoxDir, '`save`', f.notes);
  const load = cfg.load === null ? '' : absolutise(cfg.load, input.neoxDir, '`load`', f.notes);
  const data = cfg.dataPaths.map((p) => absolutise(p, input.neoxDir, 'Data path', f.notes));
  savePath = save === '' ? null : save;
  loadPath = load === '' ? null : load;
  let pathsOk = true;
  if (save !== '') pathsOk = validatePath(save, '`save`', f.problems) && pathsOk;
  if (load !== '') pathsOk = validatePath(load, '`load`', f.problems) && pathsOk;
  for (const d of data) pathsOk = validatePath(d, 'Data path', f.problems) && pathsOk;
  if (!pathsOk) return result(cfg);
  if (cfg.save === null)
    f.problems.push(
      'The config has no `save` directory: checkpoints would not be written. Add `save: /abs/dir`.',
    );
  if (data.length === 0) f.problems.push('The config names no data (`data-path` or `train-data-paths`).');

  const iteration = cfg.load !== null ? cfg.iteration : null;
  const logDir = input.logDir ?? '';
  const facts = await probe.checkPaths({
    save: savePath,
    load: loadPath,
    iteration,
    logDir: logDir === '' ? null : logDir,
    data,
  });
  const steps = [...facts.steps].sort((a, b) => a - b);
  const iter = iteration === null ? '' : String(iteration);
  f.problems.push(...pathProblems(facts, { save, load, logDir, iter }, steps));
  return result(cfg, steps);
}
