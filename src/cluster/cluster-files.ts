import type { ConfigProbe, ConfigRead, PathCheckRequest, PathFacts } from '../neox/config-probe.js';
import { checkConfigPaths } from './config-paths.js';
import { type LogRead, type LogReadRequest, type LogTail, tailLines, tailLog } from './log-files.js';
import { LogReadBatcher, type LogReadBatcherOptions } from './log-read-batcher.js';
import { modifiedTimes, readFileHead, readText, writeText } from './remote-files.js';
import type { Transport } from './transport.js';

/**
 * The files of the cluster as /train, the training watch and the sweeps use them: each method is one
 * remote program of src/cluster/remote/ (one round trip), its operands data, never code.
 */
export class ClusterFiles implements ConfigProbe {
  /** Log reads asked for within the batcher's window (20 ms) share one remote command. */
  readonly #reader: LogReadBatcher;

  constructor(private readonly transport: Transport) {
    this.#reader = new LogReadBatcher(transport);
  }

  /** The first `maxBytes` bytes of a config, or why it cannot be read. */
  readConfig(path: string, maxBytes: number): Promise<ConfigRead> {
    return readFileHead(this.transport, path, maxBytes);
  }

  /** Every path a config names: save, load and its checkpoints, the log directory, the data files. */
  checkPaths(req: PathCheckRequest): Promise<PathFacts> {
    return checkConfigPaths(this.transport, req);
  }

  /** A whole text file; ClusterError when it is missing, unreadable or larger than `maxBytes`. */
  readText(path: string, maxBytes: number): Promise<string> {
    return readText(this.transport, path, maxBytes);
  }

  /** Create or replace a file with `text`. */
  writeText(path: string, text: string): Promise<void> {
    return writeText(this.transport, path, text);
  }

  /** The last `lines` lines of a log (at most `maxBytes`); null when there is no such file. */
  tailLog(file: string, lines: number, maxBytes?: number): Promise<string | null> {
    return tailLog(this.transport, file, lines, maxBytes);
  }

  /** The last `lines` whole lines of a log within `maxBytes`, and whether the cap cut; null when missing. */
  tailLines(file: string, lines: number, maxBytes: number): Promise<LogTail | null> {
    return tailLines(this.transport, file, lines, maxBytes);
  }

  /** What a log gained since a byte offset; reads asked for together go out as one command. */
  readLogChunk(req: LogReadRequest): Promise<LogRead> {
    return this.#reader.read(req);
  }

  /** A reader that gathers the log reads of one poll into one command. */
  batchedLogReader(opts: LogReadBatcherOptions = {}): LogReadBatcher {
    return new LogReadBatcher(this.transport, opts);
  }

  /** Name → last modification (ms since the epoch) of the entries of `dir` matching the glob `pattern`. */
  modifiedTimes(dir: string, pattern: string): Promise<Map<string, number>> {
    return modifiedTimes(this.transport, dir, pattern);
  }
}
