import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** One host key from a known_hosts file that applies to the host being connected to. */
export interface KnownHostKey {
  readonly keyType: string;
  readonly fingerprint: string;
  /** `@revoked` lines: presenting this key must be refused even if another line allows it. */
  readonly revoked: boolean;
  readonly line: number;
}

/** OpenSSH's `SHA256:` fingerprint of a raw public key blob (base64, no padding). */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export function normalizeFingerprint(fp: string): string {
  const trimmed = fp.trim().replace(/=+$/, '');
  return trimmed.startsWith('SHA256:') ? trimmed : `SHA256:${trimmed}`;
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The keys in a known_hosts file that apply to host:port: plain, wildcard (`*`, `?`), negated (`!`) and
 * hashed (`|1|salt|hmac`) host patterns; `@cert-authority` lines are ignored (we pin keys, not CAs).
 */
export function parseKnownHosts(text: string, host: string, port: number): KnownHostKey[] {
  const name = knownHostName(host, port);
  const out: KnownHostKey[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@revoked') revoked = true;
      else continue;
      fields = fields.slice(1);
    }
    const [patterns, keyType, keyB64] = fields;
    if (patterns === undefined || keyType === undefined || keyB64 === undefined) continue;
    if (!hostMatches(patterns, name)) continue;
    const blob = Buffer.from(keyB64, 'base64');
    if (blob.length === 0) continue;
    out.push({ keyType, fingerprint: sha256Fingerprint(blob), revoked, line: i + 1 });
  }
  return out;
}

function hostMatches(patternList: string, name: string): boolean {
  if (patternList.startsWith('|1|')) return hashedMatches(patternList, name);
  let matched = false;
  for (const p of patternList.split(',')) {
    const negated = p.startsWith('!');
    const pattern = negated ? p.slice(1) : p;
    if (globToRegExp(pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(entry: string, name: string): boolean {
  const [, , saltB64, hashB64] = entry.split('|');
  if (saltB64 === undefined || hashB64 === undefined) return false;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
