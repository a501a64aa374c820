import { ClusterError, trimStderr } from '../errors.js';
import type { DataFacts, PathCheckRequest, PathFacts } from '../neox/config-probe.js';
import { loadRemoteScript } from './remote-script.js';
import type { Transport } from './transport.js';

const CHECK_CONFIG_PATHS = loadRemoteScript('check-config-paths.sh');

/** Every path a NeoX config names, checked in one remote command (remote/check-config-paths.sh). */
export async function checkConfigPaths(transport: Transport, req: PathCheckRequest): Promise<PathFacts> {
  const r = await transport.runScript(
    CHECK_CONFIG_PATHS,
    [
      req.save ?? '',
      req.load ?? '',
      req.load !== null && req.iteration !== null ? String(req.iteration) : '',
      req.logDir ?? '',
      ...req.data,
    ],
    { maxOutputBytes: 4 * 1024 * 1024 },
  );
  if (r.exitCode !== 0) {
    throw new ClusterError(`checking the config's paths failed: ${trimStderr(r.stderr)}`, {
      exitCode: r.exitCode,
      stderr: r.stderr,
    });
  }
  return parsePathFacts(r.stdout, req);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type DataDraft = Mutable<Omit<DataFacts, 'near'>> & { near: string[] };

/** The records of check-config-paths.sh. A data record must name the next requested prefix. */
export function parsePathFacts(stdout: string, req: PathCheckRequest): PathFacts {
  const facts: Mutable<Omit<PathFacts, 'steps' | 'data'>> = {
    logDir: req.logDir === null ? null : 'ok',
    save: null,
    load: null,
    checkpoint: null,
  };
  const steps: number[] = [];
  const data: DataDraft[] = [];
  let current: DataDraft | null = null;
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    const tag = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (tag === 'logs' && rest === 'missing') facts.logDir = 'missing';
    else if (tag === 'save' && ['ok', 'missing', 'notdir', 'notwritable'].includes(rest))
      facts.save = rest as PathFacts['save'];
    else if (tag === 'load' && (rest === 'ok' || rest === 'missing')) facts.load = rest;
    else if (tag === 'ckpt' && (rest === 'ok' || rest === 'missing')) facts.checkpoint = rest;
    else if (tag === 'step' && /^\d+$/.test(rest)) steps.push(Number(rest));
    else if (tag === 'data') {
      const m = /^([01]) ([01]) (.*)$/.exec(rest);
      // A record for anything but the next prefix asked about (a file name holding a newline) is noise.
      const prefix = m?.[3];
      if (prefix === undefined || prefix !== req.data[data.length]) {
        current = null;
        continue;
      }
      current = { prefix, bin: m?.[1] === '1', idx: m?.[2] === '1', near: [] };
      data.push(current);
    } else if (tag === 'near' && current !== null && !(current.bin && current.idx)) {
      current.near.push(rest);
    }
  }
  return { ...facts, steps, data };
}
