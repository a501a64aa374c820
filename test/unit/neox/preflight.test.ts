import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  ConfigProbe,
  ConfigRead,
  DataFacts,
  PathCheckRequest,
  PathFacts,
} from '../../../src/neox/config-probe.js';
import { MAX_CONFIG_BYTES, preflight } from '../../../src/neox/preflight.js';

// The reasoning of a preflight, over a probe that answers from a table of the "cluster's" files: what
// each fact means for the config, and which two questions are asked.

type Entry = { readonly kind: 'file'; readonly text: string; readonly readable?: boolean } | 'dir' | 'ro-dir';

class TableProbe implements ConfigProbe {
  readonly asked: (
    | { readonly readConfig: string; readonly maxBytes: number }
    | { readonly checkPaths: PathCheckRequest }
  )[] = [];
  constructor(private readonly table: Readonly<Record<string, Entry>>) {}

  async readConfig(path: string, maxBytes: number): Promise<ConfigRead> {
    this.asked.push({ readConfig: path, maxBytes });
    const e = this.table[path];
    if (e === undefined) return { status: 'missing' };
    if (typeof e === 'string') return { status: 'notfile' };
    if (e.readable === false) return { status: 'unreadable' };
    return { status: 'ok', text: e.text.slice(0, maxBytes) };
  }

  async checkPaths(req: PathCheckRequest): Promise<PathFacts> {
    this.asked.push({ checkPaths: req });
    const isDir = (p: string) => this.table[p] === 'dir' || this.table[p] === 'ro-dir';
    const isFile = (p: string) => typeof this.table[p] === 'object';
    const save = req.save;
    const load = req.load;
    const binsIn = (dir: string) =>
      Object.keys(this.table).filter((p) => posix.dirname(p) === dir && p.endsWith('.bin') && isFile(p));
    const data = req.data.map((prefix): DataFacts => {
      const bin = isFile(`${prefix}.bin`);
      const idx = isFile(`${prefix}.idx`);
      const dir = posix.dirname(prefix);
      const near =
        bin && idx
          ? []
          : isDir(dir)
            ? binsIn(dir)
            : Object.keys(this.table)
                .filter((p) => isDir(p) && posix.dirname(p) === posix.dirname(dir))
                .flatMap(binsIn);
      return { prefix, bin, idx, near };
    });
    return {
      logDir: req.logDir === null ? null : isDir(req.logDir) ? 'ok' : 'missing',
      save:
        save === null
          ? null
          : this.table[save] === undefined
            ? 'missing'
            : !isDir(save)
              ? 'notdir'
              : this.table[save] === 'ro-dir'
                ? 'notwritable'
                : 'ok',
      load: load === null ? null : isDir(load) ? 'ok' : 'missing',
      checkpoint:
        load === null || req.iteration === null
          ? null
          : isDir(`${load}/global_step${req.iteration}`)
            ? 'ok'
            : 'missing',
      steps:
        load === null
          ? []
          : Object.keys(this.table)
              .map((p) => (isDir(p) ? new RegExp(`^${load}/global_step(\\d+)$`).exec(p)?.[1] : undefined))
              .filter((s) => s !== undefined)
              .map(Number),
      data,
    };
  }
}

const NEOX = '/home/me/neox';
const file = (text: string): Entry => ({ kind: 'file', text });
const config = (lines: Record<string, unknown>) =>
  file(
    Object.entries(lines)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('\n'),
  );
const GOOD = {
  'train-iters': 2000,
  log_interval: 1,
  'data-path': '/data/pile/pile_text_document',
  save: '/ckpt/exp1',
  load: '/ckpt/exp1',
  iteration: 200,
};
/** A cluster where GOOD passes; the test overrides what it is about. */
const cluster = (extra: Record<string, Entry | undefined> = {}): Record<string, Entry> => {
  const t: Record<string, Entry | undefined> = {
    '/cfg/good.yml': config(GOOD),
    '/data': 'dir',
    '/data/pile': 'dir',
    '/data/pile/pile_text_document.bin': file('b'),
    '/data/pile/pile_text_document.idx': file('i'),
    '/data/pile/other_document.bin': file('b'),
    '/ckpt/exp1': 'dir',
    // out of order on purpose: existingSteps comes back ascending
    '/ckpt/exp1/global_step200': 'dir',
    '/ckpt/exp1/global_step100': 'dir',
    '/ckpt/exp1/global_step30': 'dir',
    '/logs/training': 'dir',
    ...extra,
  };
  return Object.fromEntries(Object.entries(t).filter((e): e is [string, Entry] => e[1] !== undefined));
};
const cfg = (lines: Record<string, unknown>) => ({ '/cfg/c.yml': config(lines) });

describe('preflight (pure reasoning over a probe)', () => {
  it('passes a good config after exactly two questions, and says what it asked', async () => {
    const probe = new TableProbe(cluster());
    const r = await preflight(probe, { config: '/cfg/good.yml', neoxDir: NEOX, logDir: '/logs/training' });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.existingSteps).toEqual([30, 100, 200]);
    expect(r).toMatchObject({ configPath: '/cfg/good.yml', resolvedFrom: null, savePath: '/ckpt/exp1' });
    expect(probe.asked).toEqual([
      { readConfig: '/cfg/good.yml', maxBytes: MAX_CONFIG_BYTES + 1 },
      {
        checkPaths: {
          save: '/ckpt/exp1',
          load: '/ckpt/exp1',
          iteration: 200,
          logDir: '/logs/training',
          data: ['/data/pile/pile_text_document'],
        },
      },
    ]);
  });

  it('names a missing config, a directory, an unreadable one, and asks nothing more', async () => {
    const probe = new TableProbe(
      cluster({ '/cfg': 'dir', '/cfg/locked.yml': { kind: 'file', text: 'x: 1', readable: false } }),
    );
    const missing = await preflight(probe, { config: '/cfg/nope.yml', neoxDir: NEOX });
    expect(missing.problems).toEqual([
      'Config `/cfg/nope.yml` does not exist on the cluster. Check the path (it must be absolute).',
    ]);
    const dir = await preflight(probe, { config: '/cfg', neoxDir: NEOX });
    expect(dir.problems).toEqual([
      'Config `/cfg` is not a regular file (a directory?). Give the path of the .yml file.',
    ]);
    const locked = await preflight(probe, { config: '/cfg/locked.yml', neoxDir: NEOX });
    expect(locked.problems).toEqual(['Config `/cfg/locked.yml` is not readable. Fix its permissions.']);
    expect(probe.asked.every((a) => 'readConfig' in a)).toBe(true);
  });

  it('refuses a config over 1 MiB and one that is not YAML', async () => {
    const big = file(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const probe = new TableProbe(
      cluster({ '/cfg/big.yml': big, '/cfg/bad.yml': file('a: [1, 2\nb: x: y\n') }),
    );
    const r = await preflight(probe, { config: '/cfg/big.yml', neoxDir: NEOX });
    expect(r.problems).toEqual(['Config `/cfg/big.yml` is larger than 1 MiB: that is not a NeoX config.']);
    const bad = await preflight(probe, { config: '/cfg/bad.yml', neoxDir: NEOX });
    expect(bad.problems[0]).toMatch(/^Config `\/cfg\/bad.yml`: it is not valid YAML/);
    expect(bad.config).toBeNull();
  });

  it('resolves relative paths against NEOX_DIR and notes each one', async () => {
    const probe = new TableProbe(
      cluster({
        [`${NEOX}/configs/rel.yml`]: config({ ...GOOD, save: 'ckpt/rel', load: null, 'data-path': 'data/d' }),
        [`${NEOX}/ckpt/rel`]: 'dir',
        [`${NEOX}/data/d.bin`]: file('b'),
        [`${NEOX}/data/d.idx`]: file('i'),
      }),
    );
    const r = await preflight(probe, { config: ' configs/rel.yml ', neoxDir: NEOX });
    expect(r.problems).toEqual([]);
    expect(r.configPath).toBe(`${NEOX}/configs/rel.yml`);
    expect(r.resolvedFrom).toBe('configs/rel.yml');
    expect(r.savePath).toBe(`${NEOX}/ckpt/rel`);
    expect(r.loadPath).toBeNull();
    expect(r.notes).toEqual([
      `Config paths must be absolute (the training script changes directory). \`configs/rel.yml\` was resolved against NEOX_DIR to \`${NEOX}/configs/rel.yml\`.`,
      `\`save\` \`ckpt/rel\` is relative; NeoX will read \`${NEOX}/ckpt/rel\``,
      `Data path \`data/d\` is relative; NeoX will read \`${NEOX}/data/d\``,
    ]);
    // no load: the checkpoint is not asked about, even with an iteration set
    expect(probe.asked[1]).toMatchObject({ checkPaths: { load: null, iteration: null, logDir: null } });
  });

  it('names the missing data file and the nearest existing data, from its directory or a sibling one', async () => {
    const probe = new TableProbe(
      cluster({
        ...cfg({ ...GOOD, 'data-path': ['/data/pile/pile_txt_document', '/data/pyle/pile_text_document'] }),
        '/data/pile/pile_txt_document.idx': file('i'),
      }),
    );
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(r.problems).toEqual([
      'Data path `/data/pile/pile_txt_document` does not exist: missing `/data/pile/pile_txt_document.bin`. Nearest existing data: `/data/pile/pile_text_document`.',
      'Data path `/data/pyle/pile_text_document` does not exist: missing `/data/pyle/pile_text_document.bin` and `/data/pyle/pile_text_document.idx`. Nearest existing data: `/data/pile/pile_text_document`.',
    ]);
  });

  it('without any data nearby, the problem names only what is missing', async () => {
    const probe = new TableProbe(cluster(cfg({ ...GOOD, 'data-path': '/elsewhere/x/d' })));
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(r.problems).toEqual([
      'Data path `/elsewhere/x/d` does not exist: missing `/elsewhere/x/d.bin` and `/elsewhere/x/d.idx`.',
    ]);
  });

  it('an iteration without its checkpoint lists the existing ones and the newest to resume from', async () => {
    const probe = new TableProbe(cluster({ ...cfg({ ...GOOD, iteration: 150 }), '/ckpt/empty': 'dir' }));
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(r.problems).toEqual([
      '`iteration: 150` but `/ckpt/exp1/global_step150` does not exist (existing: global_step30, global_step100, global_step200). Set `iteration: 200` to resume from the newest.',
    ]);
    const empty = new TableProbe(cluster({ ...cfg({ ...GOOD, load: '/ckpt/empty' }), '/ckpt/empty': 'dir' }));
    const none = await preflight(empty, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(none.existingSteps).toEqual([]);
    expect(none.problems).toEqual([
      '`iteration: 200` but `/ckpt/empty/global_step200` does not exist (none exist there).',
    ]);
  });

  it('names what is wrong with save, load and the log directory, in that order, then data and resume', async () => {
    const probe = new TableProbe(
      cluster({
        ...cfg({ ...GOOD, save: '/ckpt/ro', load: '/ckpt/gone', 'data-path': '/data/pile/nope' }),
        '/ckpt/ro': 'ro-dir',
      }),
    );
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX, logDir: '/logs/nowhere' });
    expect(r.problems).toEqual([
      "The training log directory `/logs/nowhere` does not exist: Slurm could not write the job's log. Create it or fix LOGS_DIR.",
      "`save` directory `/ckpt/ro` is not writable by the training job's user.",
      '`load` directory `/ckpt/gone` does not exist.',
      'Data path `/data/pile/nope` does not exist: missing `/data/pile/nope.bin` and `/data/pile/nope.idx`. Nearest existing data: `/data/pile/other_document`.',
      '`iteration: 200` but `/ckpt/gone/global_step200` does not exist (none exist there).',
    ]);
    const notDir = await preflight(
      new TableProbe(cluster({ ...cfg({ ...GOOD, save: '/data/pile/other_document.bin' }) })),
      {
        config: '/cfg/c.yml',
        neoxDir: NEOX,
      },
    );
    expect(notDir.problems).toEqual([
      '`save` `/data/pile/other_document.bin` exists but is not a directory.',
    ]);
    const missing = await preflight(new TableProbe(cluster(cfg({ ...GOOD, save: '/ckpt/new' }))), {
      config: '/cfg/c.yml',
      neoxDir: NEOX,
    });
    expect(missing.problems).toEqual([
      '`save` directory `/ckpt/new` does not exist. Create it (mkdir -p) or fix the path.',
    ]);
  });

  it('a config without save or data is blocked, and the paths it does name are still checked', async () => {
    const { save: _s, 'data-path': _d, ...rest } = GOOD;
    const probe = new TableProbe(cluster(cfg({ ...rest, iteration: 7 })));
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(r.problems).toEqual([
      'The config has no `save` directory: checkpoints would not be written. Add `save: /abs/dir`.',
      'The config names no data (`data-path` or `train-data-paths`).',
      '`iteration: 7` but `/ckpt/exp1/global_step7` does not exist (existing: global_step30, global_step100, global_step200). Set `iteration: 200` to resume from the newest.',
    ]);
    expect(r.savePath).toBeNull();
    expect(probe.asked).toHaveLength(2);
  });

  it('a path the cluster never uses is refused before anything is checked', async () => {
    const probe = new TableProbe(cluster(cfg({ ...GOOD, save: '/ckpt/x; touch /tmp/p', load: '/a/../b' })));
    const r = await preflight(probe, { config: '/cfg/c.yml', neoxDir: NEOX });
    expect(r.problems).toEqual([
      '`save` `/ckpt/x; touch /tmp/p`: the path has characters a cluster path never uses',
      '`load` `/a/../b`: the path cannot contain ".." segments',
    ]);
    expect(probe.asked).toHaveLength(1);
    const typed = await preflight(probe, { config: '/cfg/$(id).yml', neoxDir: NEOX });
    expect(typed.problems).toEqual([
      'Config path `/cfg/$(id).yml`: the path has characters a cluster path never uses',
    ]);
    expect(probe.asked).toHaveLength(1);
  });

  it('warns, without blocking, when log_interval is above 10 or left at the NeoX default', async () => {
    const { log_interval: _l, ...unset } = GOOD;
    const probe = new TableProbe(
      cluster({ '/cfg/li.yml': config({ ...GOOD, log_interval: 50 }), '/cfg/unset.yml': config(unset) }),
    );
    const set = await preflight(probe, { config: '/cfg/li.yml', neoxDir: NEOX });
    expect(set.problems).toEqual([]);
    expect(set.warnings.map((w) => w.code)).toEqual(['log_interval']);
    expect(set.warnings[0]?.message).toMatch(
      /^`log_interval` is 50: no iteration line appears before iteration 50/,
    );
    const dflt = await preflight(probe, { config: '/cfg/unset.yml', neoxDir: NEOX });
    expect(dflt.warnings[0]?.message).toMatch(
      /^`log_interval` is 100 \(NeoX default: the config does not set it\)/,
    );
    const ten = await preflight(new TableProbe(cluster(cfg({ ...GOOD, log_interval: 10 }))), {
      config: '/cfg/c.yml',
      neoxDir: NEOX,
    });
    expect(ten.warnings).toEqual([]);
  });
});
