import { ClusterError, trimStderr } from '../errors.js';
import type { CheckpointRef } from '../pipeline/checkpoint-inventory.js';
import { loadRemoteScript } from './remote-script.js';
import type { Transport } from './transport.js';

// The checkpoint tree on the cluster (`<base>/<experiment>/global_step<N>/`), each question one remote
// command whatever the number of experiments or checkpoints.

/** One experiment's checkpoints with their sizes, or what is there instead. */
export type CheckpointListing =
  | { readonly kind: 'ok'; readonly checkpoints: readonly { step: number; bytes: number }[] }
  | { readonly kind: 'missing-experiment'; readonly names: readonly string[] }
  /** The experiment is a symbolic link that resolves outside the root, to `target`: never read. */
  | { readonly kind: 'outside-root'; readonly target: string }
  | { readonly kind: 'missing-base' };

/** Every checkpoint under the root; `exitCode` non-zero means find met problems and the list may be short. */
export type CheckpointTree =
  | { readonly kind: 'ok'; readonly checkpoints: readonly CheckpointRef[]; readonly exitCode: number }
  | { readonly kind: 'missing-base' };

const SIZES = loadRemoteScript('checkpoint-sizes.sh');

/** `/a/b/` → `/a/b`; `/` stays `/`. */
export function checkpointRoot(base: string): string {
  return base.replace(/\/+$/, '') || '/';
}

export class CheckpointFiles {
  constructor(private readonly transport: Transport) {}

  /** The `global_step<N>` directories of one experiment with their sizes (`du -s`), sorted by step. */
  async sizes(base: string, experiment: string): Promise<CheckpointListing> {
    const r = await this.transport.runScript(SIZES, [checkpointRoot(base), experiment], {
      timeoutMs: 120_000,
      maxOutputBytes: 8 << 20,
    });
    return parseCheckpointSizes(r.stdout, r.exitCode, r.stderr);
  }

  /** Every `<experiment>/global_step<N>` under the root, from one `find`. */
  async list(base: string): Promise<CheckpointTree> {
    const root = checkpointRoot(base);
    const argv = ['find', root, '-mindepth', '2', '-maxdepth', '2', '-type', 'd', '-name', 'global_step*'];
    const r = await this.transport.run([...argv, '-printf', '%P\\n'], { timeoutMs: 60_000 });
    const checkpoints = parseCheckpointTree(r.stdout);
    const missing =
      r.exitCode !== 0 && /No such file or directory/.test(r.stderr) && checkpoints.length === 0;
    return missing ? { kind: 'missing-base' } : { kind: 'ok', checkpoints, exitCode: r.exitCode };
  }
}

/** checkpoint-sizes.sh's output (see its header) → the listing; anything else is the cluster failing. */
export function parseCheckpointSizes(stdout: string, exitCode = 0, stderr = ''): CheckpointListing {
  const lines = stdout.split('\n').filter((l) => l !== '');
  const head = lines[0];
  if (head === '@@nobase@@') return { kind: 'missing-base' };
  if (head === '@@noexp@@') return { kind: 'missing-experiment', names: lines.slice(1) };
  if (head === '@@outside@@') return { kind: 'outside-root', target: lines[1] ?? '' };
  if (head !== '@@ok@@') {
    throw new ClusterError(`listing checkpoints failed (exit ${exitCode}): ${trimStderr(stderr, 300)}`, {
      exitCode,
      stderr: trimStderr(stderr),
    });
  }
  const checkpoints: { step: number; bytes: number }[] = [];
  for (const line of lines.slice(1)) {
    const m = /^(\d+)\s+.*\/global_step(\d+)$/.exec(line);
    if (m) checkpoints.push({ bytes: Number(m[1]), step: Number(m[2]) });
  }
  return { kind: 'ok', checkpoints: checkpoints.sort((a, b) => a.step - b.step) };
}

/** `find … -printf '%P\n'` output (`<experiment>/global_step<N>` per line); other lines are skipped. */
export function parseCheckpointTree(stdout: string): CheckpointRef[] {
  const found: CheckpointRef[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([^/]+)\/global_step(\d+)$/.exec(line.trim());
    if (m?.[1] !== undefined) found.push({ experiment: m[1], step: Number(m[2]) });
  }
  return found;
}
