// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are sh scripts; ${…} is shell parameter expansion
import { posix } from 'node:path';
import { AbsPath } from '../args.js';
import type { Transport } from '../cluster/transport.js';
import { ClusterError, trimStderr } from '../errors.js';
import { nearest } from './nearest.js';
import { NeoxConfigError, type NeoxConfigSummary, parseNeoxConfig } from './neox-config.js';

// Checks a NeoX config before anything is submitted. Every file check runs ON THE CLUSTER through the
// Transport (the bot may run off-cluster), in exactly two round trips: read the config, then one small
// fixed script that checks every path it names. Nothing is ever written to the config.

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

// Scripts are single lines (transports refuse control characters in argv); operands come as $1… so no
// user text is ever part of the script itself.
const oneLine = (lines: readonly string[]) => lines.join(' ');

// $1 config path, $2 byte cap. Exit codes name the problem; the body is the config.
const READ_SCRIPT = oneLine([
  'f=$1; max=$2;',
  'if [ ! -e "$f" ]; then exit 3; fi;',
  'if [ ! -f "$f" ]; then exit 4; fi;',
  'if [ ! -r "$f" ]; then exit 5; fi;',
  'head -c "$max" -- "$f"',
]);

// $1 save, $2 load, $3 iteration, $4 the training log dir (each may be empty), then data prefixes.
// One line per fact.
const CHECK_SCRIPT = oneLine([
  'save=$1; load=$2; iter=$3; logs=$4; shift 4;',
  'if [ -n "$logs" ] && [ ! -d "$logs" ]; then echo "logs missing"; fi;',
  'if [ -n "$save" ]; then',
  '  if [ ! -e "$save" ]; then echo "save missing";',
  '  elif [ ! -d "$save" ]; then echo "save notdir";',
  '  elif [ ! -w "$save" ]; then echo "save notwritable";',
  '  else echo "save ok"; fi;',
  'fi;',
  'if [ -n "$load" ]; then',
  '  if [ -d "$load" ]; then echo "load ok"; else echo "load missing"; fi;',
  '  if [ -n "$iter" ]; then',
  '    if [ -d "$load/global_step$iter" ]; then echo "ckpt ok"; else echo "ckpt missing"; fi;',
  '  fi;',
  '  for d in "$load"/global_step*; do',
  '    if [ -d "$d" ]; then printf \'step %s\\n\' "${d##*/global_step}"; fi;',
  '  done | head -n 1000;',
  'fi;',
  'for p in "$@"; do',
  '  b=0; i=0;',
  '  if [ -f "$p.bin" ]; then b=1; fi;',
  '  if [ -f "$p.idx" ]; then i=1; fi;',
  '  printf \'data %s %s %s\\n\' "$b" "$i" "$p";',
  '  if [ "$b$i" != 11 ]; then',
  '    d=${p%/*};',
  // The for list above was expanded once, so reusing "$@" for the candidates is safe.
  '    if [ -d "$d" ]; then set -- "$d"/*.bin; else set -- "${d%/*}"/*/*.bin; fi;',
  '    for c in "$@"; do if [ -f "$c" ]; then printf \'near %s\\n\' "$c"; fi; done | head -n 200;',
  '  fi;',
  'done',
]);

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

export async function preflight(
  transport: Transport,
  input: {
    readonly config: string;
    readonly neoxDir: string;
    /** `<LOGS_DIR>/training`: Slurm cannot start the job's log without it. */
    readonly logDir?: string;
  },
): Promise<PreflightResult> {
  const problems: string[] = [];
  const warnings: PreflightWarning[] = [];
  const notes: string[] = [];
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
    problems,
    warnings,
    notes,
    config,
    existingSteps,
  });
  if (relative) {
    notes.push(
      `Config paths must be absolute (the training script changes directory). \`${typed}\` was resolved against NEOX_DIR to \`${configPath}\`.`,
    );
  }
  if (!validatePath(configPath, 'Config path', problems)) return result(null);

  const read = await transport.run(
    ['sh', '-c', READ_SCRIPT, 'sh', configPath, String(MAX_CONFIG_BYTES + 1)],
    {
      maxOutputBytes: MAX_CONFIG_BYTES + 64 * 1024,
    },
  );
  if (read.exitCode === 3) {
    problems.push(
      `Config \`${configPath}\` does not exist on the cluster. Check the path (it must be absolute).`,
    );
    return result(null);
  }
  if (read.exitCode === 4) {
    problems.push(
      `Config \`${configPath}\` is not a regular file (a directory?). Give the path of the .yml file.`,
    );
    return result(null);
  }
  if (read.exitCode === 5) {
    problems.push(`Config \`${configPath}\` is not readable. Fix its permissions.`);
    return result(null);
  }
  if (read.exitCode !== 0) {
    throw new ClusterError(`reading the config failed: ${trimStderr(read.stderr)}`, {
      exitCode: read.exitCode,
      stderr: read.stderr,
    });
  }
  if (Buffer.byteLength(read.stdout) > MAX_CONFIG_BYTES) {
    problems.push(`Config \`${configPath}\` is larger than 1 MiB: that is not a NeoX config.`);
    return result(null);
  }
  let cfg: NeoxConfigSummary;
  try {
    cfg = parseNeoxConfig(read.stdout);
  } catch (e) {
    if (e instanceof NeoxConfigError) {
      problems.push(`Config \`${configPath}\`: ${e.message}`);
      return result(null);
    }
    throw e;
  }

  if (cfg.logInterval > MAX_LOG_INTERVAL) {
    warnings.push({
      code: 'log_interval',
      message: `\`log_interval\` is ${cfg.logInterval}${cfg.logIntervalSet ? '' : ' (NeoX default: the config does not set it)'}: no iteration line appears before iteration ${cfg.logInterval}, so the 50-iteration check cannot run. Set \`log_interval\` ≤ ${MAX_LOG_INTERVAL} in the config, or submit anyway. The bot does not edit configs.`,
    });
  }

  const save = cfg.save === null ? '' : absolutise(cfg.save, input.neoxDir, '`save`', notes);
  const load = cfg.load === null ? '' : absolutise(cfg.load, input.neoxDir, '`load`', notes);
  const data = cfg.dataPaths.map((p) => absolutise(p, input.neoxDir, 'Data path', notes));
  savePath = save === '' ? null : save;
  loadPath = load === '' ? null : load;
  let pathsOk = true;
  if (save !== '') pathsOk = validatePath(save, '`save`', problems) && pathsOk;
  if (load !== '') pathsOk = validatePath(load, '`load`', problems) && pathsOk;
  for (const d of data) pathsOk = validatePath(d, 'Data path', problems) && pathsOk;
  if (!pathsOk) return result(cfg);
  if (cfg.save === null)
    problems.push(
      'The config has no `save` directory: checkpoints would not be written. Add `save: /abs/dir`.',
    );
  if (data.length === 0) problems.push('The config names no data (`data-path` or `train-data-paths`).');

  const iter = cfg.load !== null && cfg.iteration !== null ? String(cfg.iteration) : '';
  const logDir = input.logDir ?? '';
  const check = await transport.run(['sh', '-c', CHECK_SCRIPT, 'sh', save, load, iter, logDir, ...data], {
    maxOutputBytes: 4 * 1024 * 1024,
  });
  if (check.exitCode !== 0) {
    throw new ClusterError(`checking the config's paths failed: ${trimStderr(check.stderr)}`, {
      exitCode: check.exitCode,
      stderr: check.stderr,
    });
  }
  const steps: number[] = [];
  const near = new Map<string, string[]>();
  let current: string | null = null;
  const missingData: string[] = [];
  for (const line of check.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    const tag = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (tag === 'save') {
      if (rest === 'missing')
        problems.push(`\`save\` directory \`${save}\` does not exist. Create it (mkdir -p) or fix the path.`);
      if (rest === 'notdir') problems.push(`\`save\` \`${save}\` exists but is not a directory.`);
      if (rest === 'notwritable')
        problems.push(`\`save\` directory \`${save}\` is not writable by the training job's user.`);
    } else if (tag === 'logs' && rest === 'missing') {
      problems.push(
        `The training log directory \`${logDir}\` does not exist: Slurm could not write the job's log. Create it or fix LOGS_DIR.`,
      );
    } else if (tag === 'load' && rest === 'missing') {
      problems.push(`\`load\` directory \`${load}\` does not exist.`);
    } else if (tag === 'step' && /^\d+$/.test(rest)) {
      steps.push(Number(rest));
    } else if (tag === 'data') {
      const m = /^([01]) ([01]) (.*)$/.exec(rest);
      if (!m) continue;
      current = m[3] ?? '';
      if (m[1] !== '1' || m[2] !== '1') {
        missingData.push(current);
        near.set(current, []);
        const missing = [m[1] !== '1' ? `${current}.bin` : '', m[2] !== '1' ? `${current}.idx` : ''];
        problems.push(
          `Data path \`${current}\` does not exist: missing ${missing
            .filter(Boolean)
            .map((x) => `\`${x}\``)
            .join(' and ')}.`,
        );
      }
    } else if (tag === 'near' && current !== null) {
      near.get(current)?.push(rest.replace(/\.bin$/, ''));
    }
  }
  steps.sort((a, b) => a - b);
  for (const d of missingData) {
    const cands = near.get(d) ?? [];
    const best = nearest(d, cands);
    if (best !== null) {
      const i = problems.findIndex((p) => p.startsWith(`Data path \`${d}\``));
      if (i >= 0) problems[i] = `${problems[i]} Nearest existing data: \`${best}\`.`;
    }
  }
  if (iter !== '' && /ckpt missing/.test(check.stdout)) {
    const listed =
      steps.length === 0 ? 'none exist there' : `existing: ${steps.map((s) => `global_step${s}`).join(', ')}`;
    problems.push(
      `\`iteration: ${iter}\` but \`${load}/global_step${iter}\` does not exist (${listed}).` +
        (steps.length > 0 ? ` Set \`iteration: ${steps.at(-1)}\` to resume from the newest.` : ''),
    );
  }
  return result(cfg, steps);
}
