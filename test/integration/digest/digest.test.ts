import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { dispatchText } from '../../../commands/core/dispatch.js';
import {
  DIGEST_QUEUE,
  enqueueDigest,
  type PostDigestData,
  type PostDigestResult,
  postDigest,
  startDigestWorker,
} from '../../../jobs/post-digest.js';
import { startDigestSchedules } from '../../../src/app/digest-schedules.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import { PipelineScanner } from '../../../src/cluster/pipeline-scanner.js';
import { SshTransport } from '../../../src/cluster/ssh/ssh-transport.js';
import type { Transport } from '../../../src/cluster/transport.js';
import { type Scheduler, startScheduler } from '../../../src/cron.js';
import { type DigestServices, DigestSource, localDigestSource } from '../../../src/digest/digest-source.js';
import { LogSweeper } from '../../../src/digest/log-sweeper.js';
import { MemoryScanStore, RedisScanStore, type ScanStore } from '../../../src/digest/scan-store.js';
import { silentLogger } from '../../../src/logger.js';
import type { MessageTarget, Messenger } from '../../../src/messenger.js';
import { QueueFactory } from '../../../src/queue/queue-factory.js';
import type { Reply } from '../../../src/reply.js';
import { startSshd } from '../../../src/sandbox/sshd.js';
import {
  type GeneratedDir,
  generatePipelineDir,
  pipelineLogText,
  writeSettledDir,
} from '../../fixtures/pipeline/generate-logs.js';
import { cliUser, commandDeps, slackUser } from '../../helpers/command-deps.js';
import { recordingLogger } from '../../helpers/recording-logger.js';

const tb = inject('testbed');
const quiet = silentLogger();

function sshTransport(): SshTransport {
  return new SshTransport({
    host: tb.ssh.host,
    port: tb.ssh.port,
    username: tb.ssh.user,
    keyPath: tb.ssh.keyPath,
    fingerprint: tb.ssh.fingerprint,
  });
}

/** Stands in for Slack's chat.postMessage: remembers what was posted where. */
class RecordingMessenger implements Messenger {
  readonly posts: { target: MessageTarget; reply: Reply }[] = [];
  constructor(private readonly afterPost?: () => Promise<void>) {}
  async post(target: MessageTarget, reply: Reply) {
    this.posts.push({ target, reply });
    await this.afterPost?.();
    return { channel: target.channel, ts: `${1764320000 + this.posts.length}.000100` };
  }
}

/** A PATH with every command this machine has except perl: a cluster login node without it. */
async function pathWithoutPerl(): Promise<string> {
  const bin = await mkdtemp(join(tb.dir, 'bin-'));
  for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) {
    for (const n of await readdir(d).catch(() => [] as string[])) {
      if (n.startsWith('perl')) continue;
      await symlink(join(d, n), join(bin, n)).catch(() => {}); // the first directory's wins, as on PATH
    }
  }
  return bin;
}

/** The sweeper the runtime builds over a cluster transport. */
const sweeper = (transport: Transport, store: ScanStore) =>
  new LogSweeper({ scanner: new PipelineScanner(transport), store });

/** The offline source the runtime builds for `--logs`: the same scan, on this machine. */
const localDigest = (dir: string) => localDigestSource(dir, new PipelineScanner(new LocalTransport()));

let g: GeneratedDir;
let ssh: SshTransport;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const root = await mkdtemp(join(tb.dir, 'digest-'));
  g = await generatePipelineDir(join(root, 'checkpoint_pipeline'));
  ssh = sshTransport();
});
afterAll(async () => {
  await ssh.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newFactory(prefix: string): QueueFactory {
  const f = new QueueFactory({ redisUrl: tb.redis.url, prefix });
  cleanups.push(() => f.close(0));
  return f;
}

describe('scanning through real sshd into real Redis', () => {
  it('counts the known-truth directory, then re-reads only what changed', async () => {
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    const source = new DigestSource(g.dir, sweeper(ssh, store));

    const first = await source.report({ since: g.since, until: g.until });
    expect(first.reply.data).toStrictEqual(g.expected);
    expect(first.sweep.changed).toBe(16);
    // Only the lines that matter came back, not the logs (two of them carry 70 KB of progress output).
    expect(first.sweep.bytesReturned).toBeLessThan(first.sweep.changedLogBytes / 5);
    // What a fresh process would read back from Redis (a few bucket fields, not one per log).
    expect(
      (await new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix }).load(g.dir)).logs.size,
    ).toBe(16);
    expect(await (factory.redis() as Redis).hlen(store.key(g.dir))).toBeLessThanOrEqual(16);

    // A second process (fresh scanner, same Redis) reads nothing again.
    const again = await new DigestSource(g.dir, sweeper(ssh, store)).report({
      since: g.since,
      until: g.until,
    });
    expect(again.sweep.changed).toBe(0);
    // only the directory's mtime record (the next sweep's fast path) comes back
    expect(again.sweep.bytesReturned).toBeLessThan(64);
    expect(again.reply.data).toStrictEqual(g.expected);

    // One new log: exactly its lines come back.
    const p = join(g.dir, 'checkpoint_pipeline_1720.out');
    await writeFile(
      p,
      pipelineLogText({
        jobId: '1720',
        experiment: 'exp-new',
        step: 1,
        kind: 'fail_429',
        fillerBytes: 100_000,
      }),
    );
    const t = new Date(g.until.getTime() - 1_800_000);
    await utimes(p, t, t);
    const third = await source.report({ since: g.since, until: g.until });
    expect(third.sweep.changed).toBe(1);
    expect(third.sweep.changedLogBytes).toBe((await stat(p)).size);
    expect(third.sweep.bytesReturned).toBeLessThan(4000);
    expect(
      (third.reply.data as { experiments: Record<string, unknown> }).experiments['exp-new'],
    ).toMatchObject({
      completed: 1,
      failed: 1,
      failures: { rate_limited: 1, timeout: 0, other: 0 },
    });
    await (await import('node:fs/promises')).rm(p);
    const fourth = await source.sweep();
    expect(fourth.deleted).toBe(1);
    expect(fourth.records.some((r) => r.name === 'checkpoint_pipeline_1720.out')).toBe(false);
  });

  it('concurrent sweeps of one directory do not overlap: the second reads nothing', async () => {
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    const a = sweeper(ssh, store);
    const second = sshTransport();
    const b = sweeper(second, store);
    cleanups.push(() => second.close());
    const [ra, rb] = await Promise.all([a.sweep(g.dir), b.sweep(g.dir)]);
    expect([ra.changed, rb.changed].sort()).toEqual([0, 16]);
  });

  it.each([
    ['with perl on the cluster: a re-sweep with nothing new starts no process there', true],
    ['without perl: GNU tools read the logs, and the quick check is one find', false],
  ])('on a settled directory, %s; a second replica trusts it too', async (_how, perl) => {
    const dir = await mkdtemp(join(tb.dir, 'settled-'));
    const own = perl
      ? null
      : await startSshd(await mkdtemp(join(tb.dir, 'noperl-')), { PATH: await pathWithoutPerl() });
    if (own) cleanups.push(() => own.daemon.stop());
    const transport = own
      ? new SshTransport({
          host: own.info.host,
          port: own.info.port,
          username: own.info.user,
          keyPath: own.info.keyPath,
          fingerprint: own.info.fingerprint,
        })
      : sshTransport();
    cleanups.push(() => transport.close());
    if (own)
      expect((await transport.run(['sh', '-c', 'command -v perl || echo none'])).stdout).toBe('none\n');
    const running = await writeSettledDir(dir, { experiment: 'exp-settled', firstJob: 1901 });
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = () => new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    const first = await sweeper(transport, store()).sweep(dir);
    expect(first.changed).toBe(2);
    expect(first.records.find((r) => r.name === 'checkpoint_pipeline_1902.out')?.run).toMatchObject({
      experiment: 'exp-settled',
      step: 200,
      outcome: 'failed',
      failureCause: 'rate_limited',
    });
    expect(await transport.statPaths([dir])).toStrictEqual(perl ? [expect.any(Object)] : null);

    // Another replica (its own scanner and store object) finds the directory's mtime in Redis.
    const replica = sweeper(transport, store());
    const again = await replica.sweep(dir);
    expect(again.changed).toBe(0);
    expect(again.records).toHaveLength(2);
    // By the agent no command output comes back; by find, one short line per path.
    if (perl) expect(again.bytesReturned).toBe(0);
    else expect(again.bytesReturned).toBeGreaterThan(0);
    expect(again.bytesReturned).toBeLessThan(100);

    await appendFile(running, 'Pipeline completed at Sat Nov 28 10:00:00 UTC 2026 with exit code 0\n');
    const grown = await replica.sweep(dir);
    expect(grown.changed).toBe(1);
    expect(grown.records.find((r) => r.name === 'checkpoint_pipeline_1901.out')?.run.outcome).toBe(
      'succeeded',
    );
  });

  it('says which directory is missing', async () => {
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    await expect(sweeper(ssh, store).sweep(join(g.dir, 'nope'))).rejects.toThrow(
      /cannot enter log directory .*nope/,
    );
  });
});

describe('the daily digest job', () => {
  it('two schedulers ticking at once post one digest', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const messenger = new RecordingMessenger(() => new Promise((r) => setTimeout(r, 200)));
    const schedulers: Scheduler[] = [];
    for (let replica = 0; replica < 2; replica++) {
      const factory = newFactory(prefix);
      const store = new RedisScanStore({ redis: factory.redis(), prefix });
      const source = new DigestSource(g.dir, sweeper(ssh, store));
      startDigestWorker(factory, { source, messenger, channel: 'C0DIGEST', log: quiet });
      const queue = factory.queue<PostDigestData>(DIGEST_QUEUE);
      // Every second: many ticks from both replicas within one day must still make one post.
      const s = startScheduler(
        [
          {
            name: 'digest',
            expression: '* * * * * *',
            tick: (at) => enqueueDigest(queue, at, 'UTC').then(() => {}),
          },
        ],
        { timezone: 'UTC', log: quiet },
      );
      schedulers.push(s);
      cleanups.push(() => s.stop());
    }
    // And both fire explicitly at the same instant too.
    const at = new Date();
    await Promise.all(schedulers.map((s) => s.fire('digest', at)));
    const deadline = Date.now() + 10_000;
    while (messenger.posts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(messenger.posts).toHaveLength(1);
    const post = messenger.posts[0];
    expect(post?.target.channel).toBe('C0DIGEST');
    expect(post?.reply.title).toMatch(/Checkpoint upload digest/);
    expect(post?.reply.chart).toBeDefined();
  });

  it('the runtime schedules from DIGEST_CRON in TZ: two replicas, one post; no channel, no schedule', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const messenger = new RecordingMessenger();
    const log = recordingLogger();
    const warnings = (): string[] => log.lines.filter((l) => l.level === 'warn').map((l) => l.msg ?? '');
    for (let replica = 0; replica < 2; replica++) {
      const factory = newFactory(prefix);
      const store = new RedisScanStore({ redis: factory.redis(), prefix });
      const running = startDigestSchedules({
        factory,
        config: { DIGEST_CHANNEL: 'C0DIGEST', DIGEST_CRON: '* * * * * *', TZ: 'Europe/London' },
        messenger,
        source: new DigestSource(g.dir, sweeper(ssh, store)),
        log,
      });
      cleanups.push(() => running.close());
    }
    const deadline = Date.now() + 10_000;
    while (messenger.posts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(messenger.posts).toHaveLength(1);

    const none = startDigestSchedules({
      factory: newFactory(`t${randomUUID().slice(0, 8)}`),
      config: { DIGEST_CHANNEL: undefined, DIGEST_CRON: '* * * * * *', TZ: 'UTC' },
      messenger,
      source: new DigestSource(g.dir, sweeper(ssh, new MemoryScanStore())),
      log,
    });
    await none.close();
    expect(warnings().join(' ')).toMatch(/DIGEST_CHANNEL is not set/);
  });

  it('a restart during the post does not post again', async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    // Replica A: Slack receives the message, then the process dies before recording it.
    let crash: () => void = () => {};
    const crashed = new Promise<void>((r) => {
      crash = r;
    });
    const messengerA = new RecordingMessenger(() => {
      crash();
      return new Promise(() => {});
    });
    const fa = new QueueFactory({ redisUrl: tb.redis.url, prefix });
    const storeA = new RedisScanStore({ redis: fa.redis(), prefix });
    const settings = { lockDuration: 1_000, stalledInterval: 500 };
    const wa = startDigestWorker(
      fa,
      {
        source: new DigestSource(g.dir, sweeper(ssh, storeA)),
        messenger: messengerA,
        channel: 'C0DIGEST',
        log: quiet,
      },
      settings,
    );
    const id = await enqueueDigest(
      fa.queue<PostDigestData>(DIGEST_QUEUE),
      new Date('2026-11-28T09:00:00Z'),
      'UTC',
    );
    expect(id).toBe('digest-2026-11-28');
    await crashed;
    await wa.kill();
    await fa.close(0);

    // Replica B picks the stalled job up.
    const fb = newFactory(prefix);
    const messengerB = new RecordingMessenger();
    const storeB = new RedisScanStore({ redis: fb.redis(), prefix });
    const wb = startDigestWorker(
      fb,
      {
        source: new DigestSource(g.dir, sweeper(ssh, storeB)),
        messenger: messengerB,
        channel: 'C0DIGEST',
        log: quiet,
      },
      settings,
    );
    const result = await new Promise<PostDigestResult>((resolve, reject) => {
      wb.worker.on('completed', (_job, r) => resolve(r));
      setTimeout(() => reject(new Error('the stalled digest job was not resumed')), 15_000);
    });
    expect(result).toEqual({ status: 'maybe-posted' });
    expect(messengerA.posts).toHaveLength(1);
    expect(messengerB.posts).toHaveLength(0);
  });

  it('retries after a clean Slack failure and then posts exactly once', async () => {
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    let fail = true;
    const posts: Reply[] = [];
    const messenger: Messenger = {
      async post(target, reply) {
        if (fail) {
          fail = false;
          throw new Error('slack says internal_error');
        }
        posts.push(reply);
        return { channel: target.channel, ts: '1.2' };
      },
    };
    const deps = {
      source: new DigestSource(g.dir, sweeper(ssh, store)),
      messenger,
      channel: 'C0DIGEST',
      redis: factory.redis(),
      keyPrefix: factory.keyPrefix(DIGEST_QUEUE),
      log: quiet,
    };
    const data = {
      periodId: 'digest-2026-11-28',
      since: g.since.toISOString(),
      until: g.until.toISOString(),
    };
    await expect(postDigest(data, deps)).rejects.toThrow(/internal_error/);
    await expect(postDigest(data, deps)).resolves.toEqual({
      status: 'posted',
      channel: 'C0DIGEST',
      ts: '1.2',
    });
    await expect(postDigest(data, deps)).resolves.toEqual({ status: 'already-posted', ts: '1.2' });
    expect(posts).toHaveLength(1);
    expect(posts[0]?.data).toStrictEqual(g.expected);
  });
});

describe('digest commands', () => {
  it('`chatops digest --logs <dir> --since --until` answers the documented JSON', async () => {
    const deps = commandDeps({
      services: {
        digest: { cluster: new DigestSource(g.dir, sweeper(ssh, new MemoryScanStore())), local: localDigest },
      },
    });
    const reply = await dispatchText(
      deps,
      cliUser(),
      'digest',
      `--logs ${g.dir} --since ${g.since.toISOString()} --until ${g.until.toISOString()}`,
    );
    expect(reply.level).not.toBe('error');
    expect(reply.data).toStrictEqual(g.expected);
  });

  it('/ckpt digest reads the cluster directory; bad input changes nothing and names the fix', async () => {
    const factory = newFactory(`t${randomUUID().slice(0, 8)}`);
    const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
    const digest: DigestServices = {
      cluster: new DigestSource(g.dir, sweeper(ssh, store)),
      local: localDigest,
    };
    const deps = commandDeps({ services: { digest } });
    const ok = await dispatchText(
      deps,
      slackUser(),
      'ckpt',
      `digest --since ${g.since.toISOString()} --until ${g.until.toISOString()}`,
    );
    expect(ok.data).toStrictEqual(g.expected);
    expect(ok.text).toMatch(/5\/10/);
    expect(ok.text).toContain('1704');

    for (const bad of [
      'digest --since yesterday',
      "digest --since '2026-11-28; rm -rf /'",
      'digest --since 2026-11-29T00:00:00Z --until 2026-11-28T00:00:00Z',
    ]) {
      const r = await dispatchText(deps, slackUser(), 'ckpt', bad);
      expect(r.level).toBe('error');
      expect(r.context?.join(' ') ?? '').toContain('/ckpt digest');
    }
    const slackLogs = await dispatchText(deps, slackUser(), 'digest', `--logs ${g.dir}`);
    expect(slackLogs.level).toBe('error');
    expect(slackLogs.text).toMatch(/CLI/);
    expect(await readFile(join(g.dir, 'notes.txt'), 'utf8')).toContain('Experiment');
  });
});
