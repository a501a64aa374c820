import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, missingSlackSettings } from '../../../src/config.js';
import { readLogSettings } from '../../../src/log-settings.js';

const sshEnv = {
  SSH_HOST: 'login.cluster.example',
  SSH_USER: 'kyle',
  SSH_KEY_PATH: '/home/bot/.ssh/id_ed25519',
  SSH_KNOWN_HOSTS: '/home/bot/.ssh/known_hosts',
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('loadConfig', () => {
  it('fills the documented defaults', () => {
    const c = loadConfig({ CLUSTER_TRANSPORT: 'local' });
    expect(c).toMatchObject({
      SLACK_MODE: 'socket',
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      CLUSTER_TRANSPORT: 'local',
      SSH_PORT: 22,
      CHECKPOINTS_BASE_DIR: '/projects/a5k/public/checkpoints/sf_model_organisms',
      LOGS_DIR: '/projects/a5k/public/logs',
      OPERATORS: [],
      DIGEST_CRON: '0 9 * * *',
      TZ: 'UTC',
    });
  });

  it('parses a full SSH setup and treats empty strings as unset', () => {
    const c = loadConfig({
      ...sshEnv,
      SSH_PORT: '2222',
      PORT: '',
      OPERATORS: ' U0123ABCD, W0456EFGH ,',
      SLACK_MODE: 'http',
    });
    expect(c.SSH_PORT).toBe(2222);
    expect(c.PORT).toBe(3000);
    expect(c.OPERATORS).toEqual(['U0123ABCD', 'W0456EFGH']);
    expect(c.SLACK_MODE).toBe('http');
  });

  it('accepts a fingerprint instead of a known_hosts file', () => {
    const { SSH_KNOWN_HOSTS: _, ...rest } = sshEnv;
    const c = loadConfig({ ...rest, SSH_HOST_FINGERPRINT: `SHA256:${'A'.repeat(43)}` });
    expect(c.SSH_HOST_FINGERPRINT).toBe(`SHA256:${'A'.repeat(43)}`);
  });

  it('names every bad value at once, with what it expects and what it got', () => {
    const bad = {
      ...sshEnv,
      SLACK_MODE: 'websocket',
      PORT: '99999',
      SSH_PORT: 'twenty-two',
      REDIS_URL: 'http://127.0.0.1:6379',
      SLACK_API_URL: 'not a url',
      CLUSTER_TRANSPORT: 'rsh',
      SSH_HOST: 'host;rm -rf /',
      SSH_KEY_PATH: 'relative/key',
      SSH_HOST_FINGERPRINT: 'MD5:aa:bb',
      CHECKPOINTS_BASE_DIR: 'checkpoints',
      OPERATORS: 'alice,U0123ABCD',
      DIGEST_CHANNEL: '#general',
      DIGEST_CRON: 'every day',
      TZ: 'Mars/Olympus',
      HF_ORG: '-bad org',
      SSH_MAX_CHANNELS: '10',
    };
    const problems = problemsOf(bad);
    const expectations: Array<[string, RegExp]> = [
      ['SLACK_MODE', /"socket" or "http".*websocket/],
      ['PORT', /1–65535.*99999/],
      ['SSH_PORT', /port number.*twenty-two/],
      ['REDIS_URL', /redis: or rediss: URL/],
      ['SLACK_API_URL', /must be a URL/],
      ['CLUSTER_TRANSPORT', /"ssh" or "local"/],
      ['SSH_HOST', /host name or IP address/],
      ['SSH_KEY_PATH', /absolute path/],
      ['SSH_HOST_FINGERPRINT', /SHA256:/],
      ['CHECKPOINTS_BASE_DIR', /absolute path/],
      ['OPERATORS', /Slack user ids/],
      ['DIGEST_CHANNEL', /channel id/],
      ['DIGEST_CRON', /cron expression/],
      ['TZ', /IANA time zone/],
      ['HF_ORG', /Hub organisation/],
      ['SSH_MAX_CHANNELS', /MaxSessions/],
    ];
    for (const [name, what] of expectations) {
      const line = problems.find((p) => p.startsWith(`${name} `));
      expect(line, `${name} should be reported in:\n${problems.join('\n')}`).toBeDefined();
      expect(line).toMatch(what);
    }
    // The error message lists them all too, one per line.
    const err = (() => {
      try {
        loadConfig(bad);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    for (const [name] of expectations) expect(err?.message).toContain(`  - ${name} `);
  });

  it('requires the SSH settings (and a pinned host key) unless the transport is local', () => {
    const problems = problemsOf({});
    for (const k of ['SSH_HOST', 'SSH_USER', 'SSH_KEY_PATH']) {
      expect(problems.some((p) => p.startsWith(`${k} is required when CLUSTER_TRANSPORT=ssh`))).toBe(true);
    }
    expect(problems.some((p) => /SSH_KNOWN_HOSTS or SSH_HOST_FINGERPRINT is required.*pinned/.test(p))).toBe(
      true,
    );
    expect(() => loadConfig({ CLUSTER_TRANSPORT: 'local' })).not.toThrow();
  });

  it('never echoes a secret in full', () => {
    const secret = 'not-a-token-but-very-secret-value';
    const problems = problemsOf({
      CLUSTER_TRANSPORT: 'local',
      SLACK_BOT_TOKEN: secret,
      SLACK_APP_TOKEN: secret,
    });
    expect(
      problems.filter((p) => p.startsWith('SLACK_BOT_TOKEN') || p.startsWith('SLACK_APP_TOKEN')),
    ).toHaveLength(2);
    expect(problems.join('\n')).not.toContain(secret);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ CLUSTER_TRANSPORT: 'local', SOMETHING_ELSE: '$(id)' })).not.toThrow();
  });
});

describe('missingSlackSettings', () => {
  it('names the tokens the configured mode needs', () => {
    expect(missingSlackSettings(loadConfig({ CLUSTER_TRANSPORT: 'local' }))).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
    ]);
    expect(
      missingSlackSettings(
        loadConfig({ CLUSTER_TRANSPORT: 'local', SLACK_MODE: 'http', SLACK_BOT_TOKEN: 'xoxb-1' }),
      ),
    ).toEqual(['SLACK_SIGNING_SECRET']);
    expect(
      missingSlackSettings(
        loadConfig({ CLUSTER_TRANSPORT: 'local', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }),
      ),
    ).toEqual([]);
  });
});

describe('readLogSettings (what the CLI reads to answer help)', () => {
  it('reads AUDIT_LOG and LOG_LEVEL as loadConfig does, and gives up where loadConfig refuses either', () => {
    const cases: Record<string, string | undefined>[] = [
      {},
      { AUDIT_LOG: '/tmp/audit.jsonl', LOG_LEVEL: 'debug' },
      { AUDIT_LOG: '  ', LOG_LEVEL: '' },
      { AUDIT_LOG: 'relative/audit.jsonl' },
      { LOG_LEVEL: 'loud' },
      { LOG_LEVEL: 'silent' },
      { AUDIT_LOG: ' /leading-space' },
    ];
    for (const env of cases) {
      const full = { CLUSTER_TRANSPORT: 'local', ...env };
      const problems = problemsOrNone(full).filter((p) => /^(AUDIT_LOG|LOG_LEVEL) /.test(p));
      const read = readLogSettings(env);
      if (problems.length > 0) {
        expect(read, JSON.stringify(env)).toBeNull();
      } else {
        const c = loadConfig(full);
        expect(read, JSON.stringify(env)).toEqual({ AUDIT_LOG: c.AUDIT_LOG, LOG_LEVEL: c.LOG_LEVEL });
      }
    }
  });
});

function problemsOrNone(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    return e instanceof ConfigError ? [...e.problems] : [];
  }
}
