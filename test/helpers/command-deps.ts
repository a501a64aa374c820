import type { CommandUser } from '../../commands/core/command.js';
import type { DispatchDeps, Invoker } from '../../commands/core/dispatch.js';
import type { Registry } from '../../commands/core/registry.js';
import type { Services } from '../../commands/core/services.js';
import { createRegistry } from '../../commands/index.js';
import { type AuditRecord, type AuditSink, AuditUnavailable } from '../../src/audit.js';
import { auditingTransport } from '../../src/cluster/audited-transport.js';
import { CheckpointFiles } from '../../src/cluster/checkpoint-files.js';
import { ClusterFiles } from '../../src/cluster/cluster-files.js';
import { type RemoteScript, scriptAuditArgv } from '../../src/cluster/remote-script.js';
import { SlurmClient } from '../../src/cluster/slurm.js';
import type { RunOptions, Transport } from '../../src/cluster/transport.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Logger, silentLogger } from '../../src/logger.js';
import { scanLogFile } from '../../src/training/scan-log-file.js';
import { CollectingMessenger } from './collecting-messenger.js';

/** Keeps audit records in memory so a test can assert on them. */
export class MemoryAudit implements AuditSink {
  /** How invocations ended. */
  readonly records: AuditRecord[] = [];
  /** The `started` records operate commands write before they act. */
  readonly begun: AuditRecord[] = [];
  /** Set to make begin() fail as a full disk would. */
  failBegin: Error | undefined;
  async write(record: AuditRecord): Promise<void> {
    this.records.push(record);
  }
  async begin(record: AuditRecord): Promise<void> {
    if (this.failBegin) throw new AuditUnavailable(`memory: ${this.failBegin.message}`);
    this.begun.push(record);
  }
}

/** A transport that refuses to run anything and remembers that it was asked: for "nothing ran" tests. */
export class RecordingTransport implements Transport {
  readonly kind = 'local' as const;
  readonly calls: string[][] = [];
  constructor(private readonly inner?: Transport) {}
  async run(argv: readonly string[], opts?: RunOptions) {
    this.calls.push([...argv]);
    if (!this.inner) throw new Error(`RecordingTransport: no inner transport for ${argv.join(' ')}`);
    return this.inner.run(argv, opts);
  }
  async runScript(script: RemoteScript, operands: readonly string[], opts?: RunOptions) {
    this.calls.push(scriptAuditArgv(script, operands));
    if (!this.inner) throw new Error(`RecordingTransport: no inner transport for ${script.name}`);
    return this.inner.runScript(script, operands, opts);
  }
  async close() {
    await this.inner?.close();
  }
}

/**
 * A service this test did not build: the command under test must not reach it, and a test that does fails
 * naming it (pass the real one in `services` when a test needs it).
 */
export function notBuilt<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      if (prop === 'then') return undefined; // not a promise
      throw new Error(`services.${name}.${String(prop)} was used, but this test did not build ${name}`);
    },
  });
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    CLUSTER_TRANSPORT: 'local',
    AUDIT_LOG: '/tmp/slurm-chatops-test-audit.jsonl',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

export interface TestDeps extends DispatchDeps {
  readonly audit: MemoryAudit;
  readonly log: Logger;
  /** The audited transport every service here runs on: test-only probe commands may run it directly. */
  readonly transport: Transport;
}

export function commandDeps(
  opts: {
    transport?: Transport;
    slurm?: SlurmClient;
    env?: Record<string, string>;
    registry?: Registry;
    services?: Partial<Services>;
  } = {},
): TestDeps {
  const transport = auditingTransport(opts.transport ?? new RecordingTransport());
  // The real client over the same (audited) transport, as main.ts builds it.
  const slurm = opts.slurm ?? new SlurmClient(transport, { cacheTtlMs: 0 });
  return {
    registry: opts.registry ?? createRegistry(),
    transport,
    services: {
      slurm,
      checkpoints: new CheckpointFiles(transport),
      files: new ClusterFiles(transport),
      messenger: new CollectingMessenger(),
      train: { monitor: notBuilt<Services['train']['monitor']>('train.monitor'), scanLogFile },
      uploads: notBuilt<Services['uploads']>('uploads'),
      digest: notBuilt<Services['digest']>('digest'),
      ...opts.services,
    },
    config: testConfig(opts.env),
    audit: new MemoryAudit(),
    log: silentLogger(),
  };
}

export const slackUser = (id = 'U0TESTUSER'): Invoker => ({
  user: { id },
  source: 'slack',
  channel: 'C0TEST',
});
export const cliUser = (name = 'tester'): Invoker => ({
  user: { id: `unix:${name}`, name } satisfies CommandUser,
  source: 'cli',
});
