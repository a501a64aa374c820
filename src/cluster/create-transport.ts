import { type Config, ConfigError } from '../config.js';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { LocalTransport } from './local/local-transport.js';
import { SshTransport } from './ssh/ssh-transport.js';
import type { Transport } from './transport.js';

export interface CreateTransportDeps {
  readonly logger?: Logger;
  /** Extra environment for a local transport (merged over the bot's own). */
  readonly localEnv?: Readonly<Record<string, string>>;
  /** SSH reconnects and channel waits. */
  readonly metrics?: Metrics;
}

/** The cluster transport the configuration asks for: ssh (pinned host key) or local (login node). */
export function createTransport(config: Config, deps: CreateTransportDeps = {}): Transport {
  if (config.CLUSTER_TRANSPORT === 'local') return new LocalTransport({ env: deps.localEnv });

  const missing = (['SSH_HOST', 'SSH_USER', 'SSH_KEY_PATH'] as const)
    .filter((k) => !config[k])
    .map((k) => `${k} is required when CLUSTER_TRANSPORT=ssh (or set CLUSTER_TRANSPORT=local)`);
  if (!config.SSH_KNOWN_HOSTS && !config.SSH_HOST_FINGERPRINT) {
    missing.push('SSH_KNOWN_HOSTS or SSH_HOST_FINGERPRINT is required when CLUSTER_TRANSPORT=ssh');
  }
  if (missing.length > 0 || !config.SSH_HOST || !config.SSH_USER || !config.SSH_KEY_PATH) {
    throw new ConfigError(missing);
  }
  return new SshTransport({
    host: config.SSH_HOST,
    port: config.SSH_PORT,
    username: config.SSH_USER,
    keyPath: config.SSH_KEY_PATH,
    // An explicit fingerprint wins over the known_hosts file when both are set.
    ...(config.SSH_HOST_FINGERPRINT
      ? { fingerprint: config.SSH_HOST_FINGERPRINT }
      : { knownHostsPath: config.SSH_KNOWN_HOSTS }),
    maxChannels: config.SSH_MAX_CHANNELS,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}

/** Stands in when the cluster connection is not configured: any command that needs it says what to set. */
export function unconfiguredTransport(problems: readonly string[]): Transport {
  const refuse = async (): Promise<never> => {
    throw new UserError(
      `This command needs the cluster, and the connection is not configured:\n${problems.map((p) => `- ${p}`).join('\n')}\n` +
        'Set these (see .env.example), or CLUSTER_TRANSPORT=local when running on the login node.',
    );
  };
  return { kind: 'local', run: refuse, runScript: refuse, async close() {} };
}
