import type { ClusterError } from '../../errors.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_MS,
  type RunOptions,
  type RunResult,
} from '../transport.js';
import type { ChannelJob } from './exec-channel.js';

/** One run() from the call until it settles: in the gate's line, holding a slot, then on a channel. */
export class SshJob implements ChannelJob {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly input: string | undefined;
  timer: NodeJS.Timeout | undefined;
  abort: ((err: ClusterError) => void) | undefined;
  /** Leaves the gate's line; true when the job was still waiting in it. */
  leaveLine: () => boolean = () => false;
  done = false;

  constructor(
    readonly argv: readonly string[],
    readonly command: string,
    opts: RunOptions,
    private readonly resolve: (r: RunResult) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.input = opts.input;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  settle(result: RunResult | Error): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    if (result instanceof Error) this.reject(result);
    else this.resolve(result);
  }
}
