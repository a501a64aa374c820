import { parse as parseYaml } from 'yaml';

// What the bot needs from a GPT-NeoX config. NeoX accepts both `train-iters` and `train_iters`; keys are
// normalised to dashes. The config is only read: the bot never edits it.

export interface NeoxConfigSummary {
  readonly trainIters: number | null;
  /** NeoX's default (100) when the config does not set it. */
  readonly logInterval: number;
  readonly logIntervalSet: boolean;
  readonly save: string | null;
  readonly load: string | null;
  readonly iteration: number | null;
  readonly saveInterval: number | null;
  /** Data prefixes (the path without `.bin`/`.idx`), from every data-path key. */
  readonly dataPaths: readonly string[];
}

export const NEOX_DEFAULT_LOG_INTERVAL = 100;

const DATA_KEYS = [
  'data-path',
  'train-data-paths',
  'valid-data-paths',
  'test-data-paths',
  'label-data-paths',
];

export class NeoxConfigError extends Error {
  override readonly name = 'NeoxConfigError';
}

function normalise(obj: Record<string, unknown>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) m.set(k.replaceAll('_', '-'), v);
  return m;
}

function intOf(m: Map<string, unknown>, key: string): number | null {
  const v = m.get(key);
  if (v === undefined || v === null) return null;
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0)
    throw new NeoxConfigError(`\`${key}\` must be a whole number (got ${JSON.stringify(v)})`);
  return n;
}

function strOf(m: Map<string, unknown>, key: string): string | null {
  const v = m.get(key);
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string')
    throw new NeoxConfigError(`\`${key}\` must be a path (got ${JSON.stringify(v)})`);
  return v;
}

export function dataPrefix(p: string): string {
  return p.replace(/\.(?:bin|idx)$/, '');
}

/** Parse YAML text; a syntax error or a non-mapping document is a NeoxConfigError naming the problem. */
export function parseNeoxConfig(text: string): NeoxConfigSummary {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: false });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new NeoxConfigError(`it is not valid YAML: ${msg}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new NeoxConfigError('it is not a YAML mapping of NeoX settings (`key: value` lines)');
  }
  const m = normalise(doc as Record<string, unknown>);
  const dataPaths: string[] = [];
  for (const key of DATA_KEYS) {
    const v = m.get(key);
    if (v === undefined || v === null) continue;
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) {
      if (typeof item !== 'string' || item === '')
        throw new NeoxConfigError(
          `\`${key}\` must be a path or a list of paths (got ${JSON.stringify(item)})`,
        );
      const p = dataPrefix(item);
      if (!dataPaths.includes(p)) dataPaths.push(p);
    }
  }
  const logInterval = intOf(m, 'log-interval');
  return {
    trainIters: intOf(m, 'train-iters'),
    logInterval: logInterval ?? NEOX_DEFAULT_LOG_INTERVAL,
    logIntervalSet: logInterval !== null,
    save: strOf(m, 'save'),
    load: strOf(m, 'load'),
    iteration: intOf(m, 'iteration'),
    saveInterval: intOf(m, 'save-interval') ?? intOf(m, 'checkpoint-factor'),
    dataPaths,
  };
}
