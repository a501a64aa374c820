// Reads a Dockerfile the way the builder does, enough to check it against the package: instructions with
// their continuation lines joined and comments dropped, grouped into stages.

export interface Instruction {
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string | null;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface CopyInstruction {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
  readonly line: number;
}

export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | null; base: string; instructions: Instruction[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue;
      line = `${line.replace(/\\\s*$/, '')} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: not an instruction: ${line}`);
    const keyword = (m[1] as string).toUpperCase();
    const args = (m[2] as string).trim();
    if (keyword === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${start + 1}: FROM ${args}`);
      stages.push({ name: f[2] ?? null, base: f[1] as string, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, args, line: start + 1 });
  }
  return stages;
}

/** COPY/ADD in shell form (`COPY [--from=x] [--chown=u] src… dest`) or JSON form. */
export function copyOf(ins: Instruction): CopyInstruction {
  const words = ins.args.startsWith('[') ? (JSON.parse(ins.args) as string[]) : ins.args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
  const dest = paths.at(-1);
  if (dest === undefined || paths.length < 2)
    throw new Error(`line ${ins.line}: ${ins.keyword} needs a source and a destination`);
  return { from, sources: paths.slice(0, -1), dest, line: ins.line };
}

/** The exec-form (JSON array) arguments of CMD, ENTRYPOINT or HEALTHCHECK's CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

/** `ENV A=1 B=2` (and the older `ENV A 1`) as a record. */
export function envOf(ins: Instruction): Record<string, string> {
  if (!ins.args.includes('=')) {
    const [k, ...v] = ins.args.split(/\s+/);
    return { [k as string]: v.join(' ') };
  }
  const out: Record<string, string> = {};
  for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const v = m[2] as string;
    out[m[1] as string] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return out;
}

/** Whether `.dockerignore` leaves `path` out of the build context (its simple patterns, no `!` exceptions). */
export function ignoredBy(dockerignore: string, path: string): string | null {
  const clean = path.replace(/^\.\//, '').replace(/\/+$/, '');
  for (const raw of dockerignore.split('\n')) {
    const p = raw.trim().replace(/^\//, '').replace(/\/+$/, '');
    if (p === '' || p.startsWith('#')) continue;
    if (p.startsWith('!')) throw new Error('.dockerignore: exceptions (!) are not checked here');
    const glob = p
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*');
    const re = new RegExp(`^${glob}(/.*)?$`);
    if (re.test(clean)) return raw.trim();
  }
  return null;
}
