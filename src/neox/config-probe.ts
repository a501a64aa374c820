// What a preflight needs to know about the cluster's files, as facts. The checks run where the training
// job will (the bot may run elsewhere); what the facts mean for a config is decided in preflight.ts.

export type ConfigRead =
  | { readonly status: 'missing' | 'notfile' | 'unreadable' }
  /** At most the asked number of bytes, decoded as UTF-8. */
  | { readonly status: 'ok'; readonly text: string };

export interface PathCheckRequest {
  /** Absolute paths; null = the config does not set it / not asked. */
  readonly save: string | null;
  readonly load: string | null;
  /** Check `<load>/global_step<iteration>` (only asked together with `load`). */
  readonly iteration: number | null;
  /** The directory Slurm writes the job's log to. */
  readonly logDir: string | null;
  /** Data prefixes: the paths without `.bin` / `.idx`. */
  readonly data: readonly string[];
}

export interface DataFacts {
  readonly prefix: string;
  /** `<prefix>.bin` / `<prefix>.idx` are regular files. */
  readonly bin: boolean;
  readonly idx: boolean;
  /**
   * When either is missing: `.bin` files that do exist in the prefix's directory, or in the directories
   * beside it when that directory is missing. Empty otherwise.
   */
  readonly near: readonly string[];
}

/** null = not asked. */
export interface PathFacts {
  readonly logDir: 'ok' | 'missing' | null;
  readonly save: 'ok' | 'missing' | 'notdir' | 'notwritable' | null;
  readonly load: 'ok' | 'missing' | null;
  /** Whether `<load>/global_step<iteration>` is a directory. */
  readonly checkpoint: 'ok' | 'missing' | null;
  /** The N of every `global_stepN` directory under `load`, in no particular order. */
  readonly steps: readonly number[];
  /** One entry per requested prefix, in request order. */
  readonly data: readonly DataFacts[];
}

/** Implemented over the cluster by src/cluster/cluster-files.ts, in one round trip per method. */
export interface ConfigProbe {
  readConfig(path: string, maxBytes: number): Promise<ConfigRead>;
  checkPaths(req: PathCheckRequest): Promise<PathFacts>;
}
