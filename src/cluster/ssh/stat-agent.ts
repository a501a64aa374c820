import type { Client, ClientChannel } from 'ssh2';
import type { Logger } from '../../logger.js';
import type { ChannelGate } from '../channel-gate.js';
import { loadRemoteScript } from '../remote-script.js';
import type { PathStat } from '../transport.js';
import { scriptCommand } from './script-command.js';

/**
 * remote/stat-agent.pl: a perl loop kept running on the connection that answers stats over its stdin (its
 * header gives the protocol). One process for the life of the connection, so a stat costs one small round
 * trip instead of a remote shell. Without perl or Time::HiRes it does not start, and callers fall back to a
 * command.
 */
const STAT_AGENT = loadRemoteScript('stat-agent.pl');

const LINE = /^(\d+) (\d+(?:\.\d+)?)$/;

/** Parse one complete reply (without its final ".\n"); null when it is not an answer for `n` paths. */
export function parseStatReply(body: string, n: number): (PathStat | null)[] | null {
  const lines = body === '' ? [] : body.replace(/\n$/, '').split('\n');
  if (lines.length !== n) return null;
  const out: (PathStat | null)[] = [];
  for (const l of lines) {
    if (l === '-') {
      out.push(null);
      continue;
    }
    const m = LINE.exec(l);
    if (!m) return null;
    out.push({ size: Number(m[1]), mtime: Number(m[2]) });
  }
  return out;
}

/** One request at a time over the agent's channel; any failure answers null (callers fall back). */
export class StatAgent {
  #buf = '';
  #pending: ((r: (PathStat | null)[] | null) => void) | undefined;
  #n = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Whether it ever answered: a channel that closes before that is a cluster without perl. */
  answered = false;

  constructor(
    private readonly channel: ClientChannel,
    onClose: () => void,
  ) {
    channel.on('data', (c: Buffer) => this.#onData(c));
    channel.stderr.on('data', () => {});
    channel.on('error', () => {});
    channel.on('close', () => {
      this.#closed = true;
      this.#settle(null);
      onClose();
    });
  }

  stat(paths: readonly string[], timeoutMs: number): Promise<(PathStat | null)[] | null> {
    const ask = () =>
      new Promise<(PathStat | null)[] | null>((resolve) => {
        if (this.#closed) {
          resolve(null);
          return;
        }
        // A late or lost answer would put every later reply out of step: on timeout the agent goes.
        const timer = setTimeout(() => this.close(), timeoutMs);
        this.#pending = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        this.#n = paths.length;
        this.#buf = '';
        this.channel.write(`${paths.join('\n')}\n\n`);
      });
    const next = this.#chain.then(ask, ask);
    this.#chain = next;
    return next;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settle(null);
    try {
      this.channel.close();
    } catch {
      // the connection is already gone, and the channel with it
    }
  }

  #settle(r: (PathStat | null)[] | null): void {
    const p = this.#pending;
    this.#pending = undefined;
    p?.(r);
  }

  #onData(c: Buffer): void {
    this.#buf += c.toString('latin1');
    if (!this.#pending) return;
    if (this.#buf !== '.\n' && !this.#buf.endsWith('\n.\n')) return;
    const body = this.#buf.slice(0, -2);
    this.#buf = '';
    const reply = parseStatReply(body, this.#n);
    // A "?" (say, permission denied) is an answer that cannot help: null, and the agent stays. A reply we
    // cannot read at all means we do not know where the next one starts: the agent goes.
    if (reply === null && !/(^|\n)\?(\n|$)/.test(body)) {
      this.close();
      return;
    }
    this.answered = true;
    this.#settle(reply);
  }
}

/**
 * The agent's lifecycle on the pooled connection: started on the first stat, holding one channel slot
 * for as long as it runs, dropped with its connection, and never asked for again on a connection where
 * it could not start.
 */
export class StatAgentKeeper {
  #agent: { client: Client; agent: Promise<StatAgent | null>; release: () => void } | undefined;
  /** Connections where the agent could not start (no perl): stats answer null without asking again. */
  readonly #noAgent = new WeakSet<Client>();

  constructor(
    private readonly gate: ChannelGate,
    private readonly logger: Logger,
    private readonly target: string,
  ) {}

  /** The stats, or null when the agent on `client` cannot answer them (callers then run a command). */
  async stat(
    client: Client,
    paths: readonly string[],
    timeoutMs: number,
  ): Promise<(PathStat | null)[] | null> {
    if (this.#noAgent.has(client)) return null;
    const agent = await this.#agentFor(client);
    if (!agent) return null;
    const r = await agent.stat(paths, timeoutMs);
    if (r === null && !agent.answered) {
      this.#noAgent.add(client);
      this.logger.info({ target: this.target }, 'no perl on the cluster: stats go by command');
    }
    return r;
  }

  /** Stop the agent kept on `client` (the connection went, or the transport closes) and free its slot. */
  drop(client: Client | undefined): void {
    const a = this.#agent;
    if (!a || a.client !== client) return;
    this.#agent = undefined;
    a.release();
    void a.agent.then((x) => x?.close());
  }

  #agentFor(client: Client): Promise<StatAgent | null> {
    if (this.#agent?.client === client) return this.#agent.agent;
    this.drop(this.#agent?.client);
    // Never wait for a slot: with every channel busy, the caller's command fallback queues like any other.
    if (!this.gate.tryAcquire()) return Promise.resolve(null);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (this.#agent?.release === release) this.#agent = undefined;
      this.gate.release();
    };
    const agent = new Promise<StatAgent | null>((resolve) => {
      try {
        client.exec(scriptCommand(STAT_AGENT, []), (err, channel) => {
          if (err) {
            release();
            resolve(null);
            return;
          }
          resolve(new StatAgent(channel, release));
        });
      } catch {
        release();
        resolve(null);
      }
    });
    this.#agent = { client, agent, release };
    return agent;
  }
}
