import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  knownHostName,
  normalizeFingerprint,
  parseKnownHosts,
  sha256Fingerprint,
} from '../../../src/cluster/ssh/known-hosts.js';

const keyA = Buffer.from('key-a-blob').toString('base64');
const keyB = Buffer.from('key-b-blob').toString('base64');
const fpA = sha256Fingerprint(Buffer.from('key-a-blob'));
const fpB = sha256Fingerprint(Buffer.from('key-b-blob'));
const fps = (text: string, host: string, port: number) =>
  parseKnownHosts(text, host, port).map((k) => (k.revoked ? `revoked:${k.fingerprint}` : k.fingerprint));

describe('known_hosts parsing', () => {
  it('computes OpenSSH-style SHA256 fingerprints without padding', () => {
    const expected = createHash('sha256').update('key-a-blob').digest('base64').replace(/=+$/, '');
    expect(fpA).toBe(`SHA256:${expected}`);
    expect(normalizeFingerprint(`${fpA}=`)).toBe(fpA);
    expect(normalizeFingerprint(expected)).toBe(fpA);
  });

  it('names non-22 ports as [host]:port, like OpenSSH', () => {
    expect(knownHostName('login.example', 22)).toBe('login.example');
    expect(knownHostName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('matches plain, bracketed-port, comma-listed and wildcard patterns', () => {
    const text = [
      '# comment',
      '',
      `login.example,10.0.0.5 ssh-ed25519 ${keyA} comment here`,
      `[127.0.0.1]:2222 ssh-ed25519 ${keyB}`,
      `*.cluster.example ssh-ed25519 ${keyA}`,
      `node?.example ssh-ed25519 ${keyB}`,
    ].join('\n');
    expect(fps(text, 'login.example', 22)).toEqual([fpA]);
    expect(fps(text, '10.0.0.5', 22)).toEqual([fpA]);
    expect(fps(text, '127.0.0.1', 2222)).toEqual([fpB]);
    expect(fps(text, '127.0.0.1', 22)).toEqual([]); // port matters
    expect(fps(text, 'a.cluster.example', 22)).toEqual([fpA]);
    expect(fps(text, 'node1.example', 22)).toEqual([fpB]);
    expect(fps(text, 'node12.example', 22)).toEqual([]);
    expect(fps(text, 'evil.example', 22)).toEqual([]);
  });

  it('lets a negated pattern exclude a host that a wildcard would match', () => {
    const text = `*.example,!bad.example ssh-ed25519 ${keyA}`;
    expect(fps(text, 'good.example', 22)).toEqual([fpA]);
    expect(fps(text, 'bad.example', 22)).toEqual([]);
  });

  it('matches hashed |1|salt|hmac entries (ssh-keygen -H)', () => {
    const salt = Buffer.from('0123456789abcdefghij');
    const hash = (name: string) => createHmac('sha1', salt).update(name).digest('base64');
    const text = [
      `|1|${salt.toString('base64')}|${hash('[127.0.0.1]:2222')} ssh-ed25519 ${keyA}`,
      `|1|${salt.toString('base64')}|${hash('login.example')} ssh-ed25519 ${keyB}`,
    ].join('\n');
    expect(fps(text, '127.0.0.1', 2222)).toEqual([fpA]);
    expect(fps(text, 'login.example', 22)).toEqual([fpB]);
    expect(fps(text, '127.0.0.1', 2223)).toEqual([]);
  });

  it('marks @revoked keys and ignores @cert-authority lines', () => {
    const text = [
      `@revoked login.example ssh-ed25519 ${keyA}`,
      `@cert-authority *.example ssh-ed25519 ${keyB}`,
    ].join('\n');
    expect(fps(text, 'login.example', 22)).toEqual([`revoked:${fpA}`]);
  });

  it('skips malformed lines instead of failing', () => {
    expect(fps('login.example\nlogin.example ssh-ed25519\n', 'login.example', 22)).toEqual([]);
  });
});
