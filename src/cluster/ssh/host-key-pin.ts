import { readFile } from 'node:fs/promises';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { FatalConnectError } from './fatal-connect-error.js';
import { knownHostName, normalizeFingerprint, parseKnownHosts, sha256Fingerprint } from './known-hosts.js';

/** Where the pinned host key comes from: a known_hosts file or a `SHA256:` fingerprint (one of the two). */
export interface HostKeyPinOptions {
  readonly host: string;
  readonly port: number;
  readonly knownHostsPath?: string;
  readonly fingerprint?: string;
}

/** The host keys a connection accepts and refuses, and the key types to ask the server for. */
export interface HostKeyPin {
  readonly allowed: readonly string[];
  readonly revoked: readonly string[];
  /** Named in a mismatch message: "configured fingerprint" or "known_hosts <path>". */
  readonly source: string;
  readonly algorithms?: ServerHostKeyAlgorithm[];
}

/** Read the pin for host:port; a missing or unusable pin refuses to connect at all (no trust on first use). */
export async function loadHostKeyPin(o: HostKeyPinOptions): Promise<HostKeyPin> {
  if (o.fingerprint) {
    return { allowed: [normalizeFingerprint(o.fingerprint)], revoked: [], source: 'configured fingerprint' };
  }
  const path = o.knownHostsPath ?? '';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new FatalConnectError(`cannot read known_hosts file ${path}: ${(e as Error).message}`);
  }
  const keys = parseKnownHosts(text, o.host, o.port);
  const allowed = keys.filter((k) => !k.revoked);
  if (allowed.length === 0) {
    throw new FatalConnectError(
      `no host key for ${knownHostName(o.host, o.port)} in ${path}; refusing to connect to an unknown host ` +
        `(add its key after verifying it, e.g. from ssh-keyscan -p ${o.port} ${o.host} checked against the server's fingerprint)`,
    );
  }
  // Ask the server for the key types we have pinned, as OpenSSH does; otherwise it may present another
  // of its keys and we would report a false mismatch.
  const algorithms = [...new Set(allowed.flatMap((k) => hostKeyAlgorithms(k.keyType)))];
  if (algorithms.length === 0) {
    throw new FatalConnectError(
      `the host keys pinned for ${knownHostName(o.host, o.port)} in ${path} are of types this client cannot verify (${allowed.map((k) => k.keyType).join(', ')})`,
    );
  }
  return {
    allowed: allowed.map((k) => k.fingerprint),
    revoked: keys.filter((k) => k.revoked).map((k) => k.fingerprint),
    source: `known_hosts ${path}`,
    algorithms,
  };
}

/**
 * Why the key a server presented is refused, or null when the pin accepts it. A mismatch names both
 * fingerprints, so whoever reads it can check the server's key out of band.
 */
export function hostKeyRefusal(
  pin: HostKeyPin,
  key: Buffer,
  target: string,
  knownHostsPath: string | undefined,
): FatalConnectError | null {
  const presented = sha256Fingerprint(key);
  if (pin.revoked.includes(presented)) {
    return new FatalConnectError(
      `host key of ${target} (${presented}) is marked @revoked in ${knownHostsPath}; refusing to connect`,
    );
  }
  if (pin.allowed.includes(presented)) return null;
  return new FatalConnectError(
    `HOST KEY MISMATCH for ${target}: expected ${pin.allowed.join(' or ')} (${pin.source}), ` +
      `but the server presented ${presented}. Refusing to connect: the host may be impersonated, or its ` +
      'key changed — verify it out of band before updating the pin.',
  );
}

const SUPPORTED_HOST_KEY_TYPES: readonly ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
];

function hostKeyAlgorithms(keyType: string): ServerHostKeyAlgorithm[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return SUPPORTED_HOST_KEY_TYPES.filter((t) => t === keyType);
}
