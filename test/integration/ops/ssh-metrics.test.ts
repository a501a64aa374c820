import { describe, expect, inject, it } from 'vitest';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import { createPromMetrics } from '../../../src/ops/prom-metrics.js';
import { parsePrometheus, sampleValue } from './bot-process.js';

// The SSH transport's connection state (what /readyz reports for the cluster) and its counters, on the
// testbed's sshd: a dropped connection is reported and counted as a reconnect; a command that finds every
// channel busy is counted as a channel wait.

const tb = inject('testbed');

describe('SSH connection state and metrics', () => {
  it('reports not connected, connected, lost; counts the reconnect and the channel waits', async () => {
    const metrics = createPromMetrics();
    const t = new SshTransport({
      host: tb.ssh.host,
      port: tb.ssh.port,
      username: tb.ssh.user,
      keyPath: tb.ssh.keyPath,
      fingerprint: tb.ssh.fingerprint,
      maxChannels: 1,
      minBackoffMs: 50,
      metrics,
    });
    try {
      expect(t.status).toMatchObject({ connected: false, detail: 'not connected yet' });
      const connPid = Number((await t.run(['sh', '-c', 'echo $PPID'])).stdout.trim());
      expect(t.status).toMatchObject({
        connected: true,
        detail: `connected to ${tb.ssh.user}@127.0.0.1:${tb.ssh.port}`,
      });
      // Two commands on one channel: the second waits for it.
      await Promise.all([t.run(['sleep', '0.2']), t.run(['true'])]);

      // The sshd process serving our one connection dies: the state says so, the next command reconnects.
      const since = t.status.since;
      process.kill(connPid, 'SIGKILL');
      for (let i = 0; i < 100 && t.status.connected; i++) await new Promise((r) => setTimeout(r, 50));
      expect(t.status.connected).toBe(false);
      expect(t.status.detail).toMatch(/^connection to .* lost$/);
      expect(t.status.since).toBeGreaterThanOrEqual(since);
      await t.run(['true'], { timeoutMs: 10_000 });
      expect(t.status.connected).toBe(true);

      const s = parsePrometheus(await metrics.registry.metrics());
      expect(sampleValue(s, 'chatops_ssh_reconnects_total')).toBe(1);
      expect(sampleValue(s, 'chatops_ssh_channel_waits_total', { reason: 'all_busy' })).toBe(1);
    } finally {
      await t.close();
    }
    expect(t.status).toMatchObject({ connected: false, detail: 'closed' });
  }, 60_000);
});
