import { userInfo } from 'node:os';
import { join } from 'node:path';
import { type LocalHub, startLocalHub } from './local-hub.js';
import { DEMO_EXPERIMENT, layOutWorld, type SandboxWorld } from './sandbox-world.js';
import { startTestbed, type Testbed } from './testbed.js';

// The whole sandbox: a private single-node Slurm cluster, Redis and sshd on loopback (the bot reaches the
// cluster over SSH with a pinned host key, as in production), a local Hugging Face Hub that limits commits,
// and the team's file layout. `settings` is the bot's environment for it.

export interface SandboxOptions {
  /** Commits the local Hub accepts per window; beyond that it answers 429 with RateLimit and Retry-After. */
  readonly hubLimit?: number;
  readonly hubWindowMs?: number;
  readonly iterMs?: number;
  readonly pipelineWorkMs?: number;
}

export interface Sandbox {
  readonly dir: string;
  readonly world: SandboxWorld;
  readonly hub: LocalHub;
  readonly experiment: string;
  /** The bot's settings (src/config.ts names) for this sandbox. */
  readonly settings: Readonly<Record<string, string>>;
  /** Stop sshd and start it again on the same port and host key (`cut`: drop open connections too). */
  restartSshd(opts?: { cut?: boolean }): Promise<void>;
  /** Restart slurmctld on its saved state after `downMs` down (running jobs carry on). */
  restartSlurmctld(downMs?: number): Promise<void>;
  /** Cancel every job, stop the Hub and every daemon, remove the files. Safe to call twice. */
  stop(): Promise<void>;
}

export const SANDBOX_ORG = 'sandbox-org';
export const SANDBOX_DIGEST_CHANNEL = 'C0SANDBOX';

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const [tb, hub] = await Promise.all([
    startTestbed({ redis: true, ssh: true, slurm: true }),
    startLocalHub({
      limit: opts.hubLimit ?? 4,
      windowMs: opts.hubWindowMs ?? 30_000,
      // A window opens with the first commit: six two-commit uploads always meet the limit on the third.
      windowAnchor: 'first-commit',
    }),
  ]);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      // The testbed's Slurm stop cancels every job first, so no training or pipeline run outlives it.
      await hub.close().catch(() => {});
      await tb.stop();
    })();
    return stopped;
  };
  try {
    const world = await layOutWorld(join(tb.info.dir, 'cluster'), {
      hubUrl: hub.url,
      org: SANDBOX_ORG,
      ...(opts.iterMs !== undefined ? { iterMs: opts.iterMs } : {}),
      ...(opts.pipelineWorkMs !== undefined ? { pipelineWorkMs: opts.pipelineWorkMs } : {}),
    });
    return {
      dir: tb.info.dir,
      world,
      hub,
      experiment: DEMO_EXPERIMENT,
      settings: botSettings(tb, world),
      restartSshd: (opts) => tb.restartSshd(opts),
      restartSlurmctld: (downMs) => tb.restartSlurmctld(downMs),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function botSettings(tb: Testbed, world: SandboxWorld): Record<string, string> {
  const { ssh, redis } = tb.info;
  return {
    CLUSTER_TRANSPORT: 'ssh',
    SSH_HOST: ssh.host,
    SSH_PORT: String(ssh.port),
    SSH_USER: ssh.user,
    SSH_KEY_PATH: ssh.keyPath,
    SSH_KNOWN_HOSTS: ssh.knownHostsPath,
    REDIS_URL: redis.url,
    NEOX_DIR: world.neoxDir,
    TRAIN_SBATCH: world.trainSbatch,
    PIPELINE_SBATCH: world.pipelineSbatch,
    CHECKPOINTS_BASE_DIR: world.checkpointsBaseDir,
    LOGS_DIR: world.logsDir,
    HF_ORG: SANDBOX_ORG,
    AUDIT_LOG: join(tb.info.dir, 'audit.jsonl'),
    CLI_OPERATORS: userInfo().username,
    // The sweeps (failed uploads, a Hub pause, a stalled watch) and the digest post here: the console.
    DIGEST_CHANNEL: SANDBOX_DIGEST_CHANNEL,
    // A sandbox is small and has no neighbours on its login node: poll often so things show at once.
    WATCH_POLL_S: '2',
    UPLOAD_POLL_S: '1',
    UPLOAD_LOCK_RECHECK_S: '2',
    UPLOAD_LOCK_RENEW_S: '2',
    UPLOAD_LOCK_TTL_S: '30',
  };
}
