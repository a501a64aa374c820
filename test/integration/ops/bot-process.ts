import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';

// The real bot (src/main.ts) as a child process, the way `npm start` runs it, plus what the ops tests ask
// of it: its JSON log lines, its ops endpoints, a signed slash command.

const root = new URL('../../..', import.meta.url).pathname;
const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

export interface BotProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): { out: string; err: string };
  /** stdout's JSON log lines, parsed. */
  lines(): Record<string, unknown>[];
  /** Resolves once a log line with this `msg` appears. */
  waitForLine(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function startBot(env: Record<string, string>, cwd: string): BotProcess {
  // node with tsx as a loader, not the tsx CLI: the CLI relays a signal to its child and SIGKILLs it when
  // the child does not report the signal within 30 ms, which a loaded machine misses.
  const child = spawn(process.execPath, ['--import', tsxLoader, join(root, 'src/main.ts')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c) => {
    out += String(c);
  });
  child.stderr?.on('data', (c) => {
    err += String(c);
  });
  // 'close', not 'exit': the last log lines may still be in the pipe when the process has exited.
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    exited,
    output: () => ({ out, err }),
    lines,
    async waitForLine(msg, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines().find((l) =>
          typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg ?? '')),
        );
        if (hit) return hit;
        if (child.exitCode !== null) throw new Error(`the bot exited (${child.exitCode}): ${err}${out}`);
        if (Date.now() > until) throw new Error(`no log line ${String(msg)} within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Bounded wait until GET url answers (tsx compiles on first start: slow on a busy machine). */
export async function waitForHttp(url: string, bot: BotProcess, timeoutMs = 150_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (bot.child.exitCode !== null) throw new Error(`the bot exited: ${bot.output().err}`);
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POST a signed slash command to the bot's HTTP receiver. */
export async function slash(
  port: number,
  secret: string,
  fields: { command: string; text: string; user_id: string; response_url: string },
): Promise<number> {
  const body = slashCommandBody(fields);
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: signedHeaders(secret, body),
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * The Prometheus text exposition format, minimally: `name{a="x",b="y"} value` per sample line, `#` lines
 * (HELP, TYPE) skipped. Label values are unescaped (\\, \", \n).
 */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with this name and these labels (undefined when absent). */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}
