import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { copyOf, envOf, execForm, ignoredBy, parseDockerfile, type Stage } from './parse-dockerfile.js';

// No Docker engine runs here: the Dockerfile is checked against the package instead. What `docker build`
// copies must exist and be in the build context, the image must start the compiled entry as a non-root user,
// and its ports and health check must be the ones the bot's settings describe.

const root = new URL('../../..', import.meta.url).pathname;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1) as Stage;
const defaults = loadConfig({ CLUSTER_TRANSPORT: 'local' });

const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const last = (s: Stage, keyword: string) => all(s, keyword).at(-1);
const workdir = (s: Stage) => last(s, 'WORKDIR')?.args ?? '/';

describe('the Dockerfile', () => {
  beforeAll(() => {
    // What the build stage produces (dist/) must exist for its COPY --from to be checked.
    execFileSync(process.execPath, [join(root, 'bin/build-if-stale.cjs')], { stdio: 'inherit' });
  }, 180_000);

  it('builds in one stage and runs from another, on Node 20', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.base).toMatch(/^node:20[.-]/);
    expect(stages.map((s) => s.name)).toContain('build');
    expect(runtime.name).not.toBe('build');
  });

  it('copies only sources that exist in the repository and are in the build context', () => {
    for (const s of stages) {
      for (const ins of [...all(s, 'COPY'), ...all(s, 'ADD')]) {
        const c = copyOf(ins);
        if (c.from !== null) continue;
        for (const src of c.sources) {
          expect(existsSync(join(root, src)), `line ${c.line}: ${src} does not exist`).toBe(true);
          expect(ignoredBy(dockerignore, src), `line ${c.line}: .dockerignore leaves ${src} out`).toBeNull();
        }
      }
    }
  });

  it('copies from the build stage only what the build made, and the runtime stage holds dist/, not the sources', () => {
    const fromBuild = all(runtime, 'COPY')
      .map(copyOf)
      .filter((c) => c.from !== null);
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const c of fromBuild) {
      const stage = stages.find((s) => s.name === c.from);
      expect(stage, `line ${c.line}: no stage named ${c.from}`).toBeDefined();
      for (const src of c.sources) {
        const rel = posix.relative(workdir(stage as Stage), posix.resolve(workdir(stage as Stage), src));
        expect(rel.startsWith('..'), `line ${c.line}: ${src} is outside the build stage's WORKDIR`).toBe(
          false,
        );
        expect(existsSync(join(root, rel)), `line ${c.line}: the build makes no ${rel}`).toBe(true);
      }
    }
    const copied = all(runtime, 'COPY').flatMap((i) => copyOf(i).sources.map((s) => s.replace(/\/+$/, '')));
    for (const source of ['src', 'commands', 'jobs', 'test', 'node_modules']) {
      expect(copied.filter((s) => s === source || s.startsWith(`${source}/`))).toEqual([]);
    }
    const runs = all(runtime, 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b[^&]*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (run )?build\b|\btsc\b/.test(r))).toBe(false);
    const build = stages.find((s) => s.name === 'build') as Stage;
    expect(all(build, 'RUN').some((i) => /\bnpm run build\b/.test(i.args))).toBe(true);
  });

  it('starts the compiled entry with node as PID 1 (exec form), which exists after a build', () => {
    const cmd = execForm(last(runtime, 'CMD')?.args ?? '');
    expect(last(runtime, 'ENTRYPOINT')).toBeUndefined();
    expect(cmd[0]).toBe('node');
    const entry = cmd[1] as string;
    const inImage = posix.resolve(workdir(runtime), entry);
    const dist = all(runtime, 'COPY')
      .map(copyOf)
      .find((c) => c.from === 'build');
    expect(inImage.startsWith(posix.resolve(workdir(runtime), dist?.dest ?? '?'))).toBe(true);
    expect(entry).toBe('dist/src/main.js');
    expect(existsSync(join(root, entry))).toBe(true);
    // src/main.ts runs main() when it is the script node was given; the entry is that module, bundled.
    expect(readFileSync(join(root, entry), 'utf8')).toMatch(
      /async function main\(.*export\s*\{[^}]*\bmain\b/s,
    );
    expect(last(runtime, 'STOPSIGNAL')?.args ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('runs as a user that is not root', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user).toBeDefined();
    expect(user?.split(':')[0]).not.toMatch(/^(root|0)$/);
    // That user can write the audit log where the image says it goes (the bot refuses to start otherwise).
    const env = Object.assign({}, ...all(runtime, 'ENV').map(envOf)) as Record<string, string>;
    const dir = posix.dirname(env.AUDIT_LOG ?? defaults.AUDIT_LOG);
    const runs = all(runtime, 'RUN').map((i) => i.args);
    expect(
      runs.some((r) => r.includes(`mkdir -p ${dir}`) && r.includes(`chown ${user}:${user} ${dir}`)),
    ).toBe(true);
  });

  it('exposes the ops port and the HTTP-mode port of the settings, listening beyond loopback', () => {
    const exposed = all(runtime, 'EXPOSE').flatMap((i) =>
      i.args.split(/\s+/).map((p) => Number(p.split('/')[0])),
    );
    expect(exposed.sort()).toEqual([defaults.OPS_PORT, defaults.PORT].sort());
    const env = Object.assign({}, ...all(runtime, 'ENV').map(envOf)) as Record<string, string>;
    expect(env.OPS_HOST).toBe('0.0.0.0');
    // The image's own values must be valid settings, and the ones the ports above describe.
    const config = loadConfig({ CLUSTER_TRANSPORT: 'local', ...env });
    expect([config.OPS_PORT, config.PORT].sort()).toEqual(exposed.sort());
  });

  it('checks health on the liveness endpoint with node itself', () => {
    const hc = last(runtime, 'HEALTHCHECK')?.args ?? '';
    const cmd = execForm(hc.slice(hc.indexOf('CMD')));
    expect(cmd[0]).toBe('node');
    const script = cmd.at(-1) as string;
    expect(script).toContain('/healthz');
    expect(script).toContain('127.0.0.1');
    expect(script).toContain('process.env.OPS_PORT');
    expect(script).toContain(String(defaults.OPS_PORT));
    expect(hc).not.toMatch(/\b(curl|wget)\b/);
    // The check is a node program: it must at least parse.
    expect(() => new Function(script)).not.toThrow();
  });

  it('keeps secrets and bulk out of the build context', () => {
    for (const path of ['.env', 'node_modules', '.git', 'dist', 'test/fixtures']) {
      expect(ignoredBy(dockerignore, path), `${path} is sent to the builder`).not.toBeNull();
    }
  });
});
