import { randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PIPELINE_SCAN, PipelineScanner, scanOperands } from '../src/cluster/pipeline-scanner.js';
import type { RemoteScript } from '../src/cluster/remote-script.js';
import { SshTransport } from '../src/cluster/ssh/ssh-transport.js';
import type { Transport } from '../src/cluster/transport.js';
import { LogSweeper } from '../src/digest/log-sweeper.js';
import { RedisScanStore } from '../src/digest/scan-store.js';
import { computeDigest } from '../src/pipeline/digest-stats.js';
import { QueueFactory } from '../src/queue/queue-factory.js';
import { startTestbed } from '../src/sandbox/testbed.js';
import { pipelineLogText, type RunKind } from '../test/fixtures/pipeline/generate-logs.js';

// npm run bench -- digest
// 10,000 pipeline logs of 1 KB–1 MB (log-uniform sizes; progress output in the middle, the telling lines at
// the top and bottom as the real pipeline prints them). Times, through the testbed's real sshd and Redis:
//   grep   — the one-liner `grep -l "Pipeline completed at .* with exit code 0" <dir>/* | wc -l`
//   first  — the first sweep (one remote command, empty Redis) plus computing the digest
//   resweep — the same with nothing new: the quick check (the kept perl stat agent on the SSH connection,
//             started by the first rep's re-sweep) plus computing the digest
// Each timed run is repeated and the median taken; the page cache is warmed first so every contender reads
// from memory (a network filesystem would only widen the gap in the scanner's favour).

const LOGS = Number(process.env.DIGEST_BENCH_LOGS ?? 10_000);
const REPS = Number(process.env.DIGEST_BENCH_REPS ?? 3);
/** Set to keep the generated directory (for profiling the scan by hand). */
const KEEP_DIR = process.env.DIGEST_BENCH_KEEP === '1';
/** Reuse a directory kept by an earlier run (its truth is in .bench-truth.json; `*` skips dotfiles). */
const REUSE_DIR = process.env.DIGEST_BENCH_DIR;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PROGRESS = [
  (i: number) =>
    `Converting layer ${i % 48}: ${'#'.repeat(i % 30)} ${(i * 7) % 100}% | ${(i % 23) + 1}/48 [00:${String(i % 60).padStart(2, '0')}<00:13, 1.91it/s]\n`,
  (i: number) =>
    `  Uploading model-0000${i % 4}-of-00004.safetensors: ${(i * 13) % 100}%|██▋       | ${i * 3}M/4.95G [00:0${i % 10}<01:12, 61.2MB/s]\n`,
  (i: number) =>
    `[rank${i % 8}] loaded shard ${i} of 512, layer.${i % 44}.attention.query_key_value.weight torch.Size([6144, 2048])\n`,
  (i: number) => `eval: task hellaswag batch ${i} acc=0.${(i * 37) % 1000} acc_norm=0.${(i * 53) % 1000}\n`,
];

async function writeLog(dir: string, i: number, kind: RunKind, size: number, mtime: Date): Promise<number> {
  const jobId = String(1_700_000 + i);
  const text = pipelineLogText({ jobId, experiment: `exp-${i % 17}`, step: 1000 * ((i % 143) + 1), kind });
  const cut = text.indexOf('\n', text.indexOf('already exists')) + 1;
  const head = text.slice(0, cut);
  const tail = text.slice(cut);
  const fillerBytes = Math.max(0, size - head.length - tail.length);
  const chunks: string[] = [];
  let n = 0;
  let k = i;
  while (n < fillerBytes) {
    const line = (PROGRESS[k % PROGRESS.length] as (i: number) => string)(k);
    chunks.push(line);
    n += Buffer.byteLength(line);
    k++;
  }
  const p = join(dir, `checkpoint_pipeline_${jobId}.out`);
  const fh = await open(p, 'w');
  await fh.write(head + chunks.join('') + tail);
  await fh.close();
  await utimes(p, mtime, mtime);
  return head.length + n + tail.length;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const tb = await startTestbed({ redis: true, ssh: true, slurm: false });
  const dir = REUSE_DIR ?? (await mkdtemp(join(tmpdir(), 'bench-digest-')));
  const transport: Transport = new SshTransport({
    host: tb.info.ssh.host,
    port: tb.info.ssh.port,
    username: tb.info.ssh.user,
    keyPath: tb.info.ssh.keyPath,
    fingerprint: tb.info.ssh.fingerprint,
  });
  const factories: QueueFactory[] = [];
  try {
    const r = rng(42);
    const kinds: [RunKind, number][] = [
      ['success', 0.7],
      ['success_after_429', 0.05],
      ['fail_429', 0.08],
      ['fail_timeout', 0.05],
      ['fail_other', 0.07],
      ['running', 0.05],
    ];
    // A scanner with nothing remembered (its own Redis prefix), as on the first sweep after deploying.
    const emptyScanner = () => {
      const factory = new QueueFactory({
        redisUrl: tb.info.redis.url,
        prefix: `bench${randomUUID().slice(0, 8)}`,
      });
      factories.push(factory);
      const store = new RedisScanStore({ redis: factory.redis(), prefix: factory.prefix });
      const scanner = new LogSweeper({
        scanner: new PipelineScanner(transport, { timeoutMs: 600_000 }),
        store,
      });
      return { factory, store, scanner };
    };
    let now = Date.now();
    let logBytes = 0;
    let succeeded = 0;
    const truthPath = join(dir, '.bench-truth.json');
    const truth = REUSE_DIR
      ? (JSON.parse(await readFile(truthPath, 'utf8')) as {
          now: number;
          logBytes: number;
          succeeded: number;
          logs: number;
        })
      : null;
    if (truth && truth.logs === LOGS) {
      ({ now, logBytes, succeeded } = truth);
      console.error(`reusing ${dir}: ${LOGS} logs, ${(logBytes / 2 ** 20).toFixed(0)} MiB`);
    } else {
      const t0 = performance.now();
      for (let i = 0; i < LOGS; i++) {
        let x = r();
        let kind: RunKind = 'success';
        for (const [k, p] of kinds) {
          if (x < p) {
            kind = k;
            break;
          }
          x -= p;
        }
        if (kind === 'success' || kind === 'success_after_429') succeeded++;
        const size = Math.round(1024 * 1024 ** r()); // 1 KB … 1 MB, log-uniform
        logBytes += await writeLog(dir, i, kind, size, new Date(now - r() * 7 * 86_400_000));
      }
      await writeFile(truthPath, JSON.stringify({ now, logBytes, succeeded, logs: LOGS }));
      console.error(
        `generated ${LOGS} logs, ${(logBytes / 2 ** 20).toFixed(0)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }

    // Warm the page cache so no contender pays for the first read from disk.
    await transport.run(['sh', '-c', 'cat -- "$1"/* > /dev/null', 'warm', dir], { timeoutMs: 600_000 });

    const grepScript = 'grep -l "Pipeline completed at .* with exit code 0" "$1"/* | wc -l';
    const grepMs: number[] = [];
    const firstMs: number[] = [];
    const resweepMs: number[] = [];
    let bytesReturned = 0;
    let counted = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const g = await timed(() =>
        transport.run(['sh', '-c', grepScript, 'grep', dir], { timeoutMs: 600_000 }),
      );
      grepMs.push(g.ms);
      const grepCount = Number(g.value.stdout.trim());
      if (grepCount !== succeeded) throw new Error(`grep counted ${grepCount}, expected ${succeeded}`);

      const { factory, store, scanner } = emptyScanner();
      const period = { since: new Date(0), until: new Date(now + 86_400_000) };
      const first = await timed(async () => {
        const s = await scanner.sweep(dir);
        return { s, d: computeDigest(s.records, period) };
      });
      firstMs.push(first.ms);
      bytesReturned = first.value.s.bytesReturned;
      counted = first.value.d.totals.succeeded;
      if (counted !== succeeded)
        throw new Error(`digest counted ${counted} succeeded, expected ${succeeded}`);
      if (first.value.s.changed !== LOGS) throw new Error(`first sweep read ${first.value.s.changed} logs`);

      const again = await timed(async () => {
        const s = await scanner.sweep(dir);
        return { s, d: computeDigest(s.records, period) };
      });
      resweepMs.push(again.ms);
      if (again.value.s.changed !== 0 || again.value.d.totals.succeeded !== succeeded) {
        throw new Error('re-sweep read something or counted differently');
      }
      const redis = factory.redis();
      await redis.del(store.key(dir));
      const ft = (t: { load: number; remote: number; parse: number; save: number }) =>
        Object.entries(t)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ');
      console.error(`  first: ${ft(first.value.s.timings)}; re-sweep: ${ft(again.value.s.timings)}`);
      console.error(
        `rep ${rep + 1}: grep ${g.ms.toFixed(0)} ms, first sweep ${first.ms.toFixed(0)} ms, re-sweep ${again.ms.toFixed(0)} ms`,
      );
    }
    // Cold: the logs are not in the page cache, as on a login node reading logs that compute nodes wrote
    // over a network filesystem. Only this benchmark's own files are evicted (fsync + POSIX_FADV_DONTNEED),
    // so nothing else on the machine is affected.
    const evict = () =>
      transport.run(
        [
          'python3',
          '-c',
          'import os,sys; d=sys.argv[1]; [(lambda fd: (os.fsync(fd), os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED), os.close(fd)))(os.open(os.path.join(d, n), os.O_RDONLY)) for n in os.listdir(d)]',
          dir,
        ],
        { timeoutMs: 600_000 },
      );
    const grepColdMs: number[] = [];
    const firstColdMs: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      await evict();
      grepColdMs.push(
        (await timed(() => transport.run(['sh', '-c', grepScript, 'grep', dir], { timeoutMs: 600_000 }))).ms,
      );
      await evict();
      const { factory, store, scanner } = emptyScanner();
      const cold = await timed(async () => {
        const sw = await scanner.sweep(dir);
        return computeDigest(sw.records, { since: new Date(0), until: new Date(now + 86_400_000) });
      });
      if (cold.value.totals.succeeded !== succeeded) throw new Error('cold sweep counted differently');
      firstColdMs.push(cold.ms);
      await factory.redis().del(store.key(dir));
      console.error(
        `cold rep ${rep + 1}: grep ${grepColdMs.at(-1)?.toFixed(0)} ms, first sweep ${cold.ms.toFixed(0)} ms`,
      );
    }
    await transport.run(['sh', '-c', 'cat -- "$1"/* > /dev/null', 'warm', dir], { timeoutMs: 600_000 });

    // Wall time on a shared machine swings with everyone else's load; CPU time does much less. Measure the
    // CPU both contenders use (remote processes via the shell's `times`, plus this process for the sweep).
    const cpuOf = async (inner: string, args: string[], env: RemoteScript['env'] = {}) => {
      const script: RemoteScript = {
        name: 'bench-cpu.sh',
        interpreter: 'sh',
        body: `${inner} </dev/null >/dev/null; times`,
        env,
      };
      const r = await transport.runScript(script, args, { timeoutMs: 600_000 });
      const child = r.stdout.trim().split('\n').at(-1) ?? '';
      const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      return (secs[0] ?? 0) * 1000 + (secs[1] ?? 0) * 1000;
    };
    const grepCpu: number[] = [];
    const scanCpu: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      grepCpu.push(await cpuOf('sh -c "$1" grep "$2"', [grepScript, dir]));
      // The scan's body travels beside its worker, as the transports hand it over.
      const remote = await cpuOf('sh -c "$SCAN_BODY" pipeline-scan.sh "$@"', scanOperands(dir, 2, 'auto'), {
        ...PIPELINE_SCAN.env,
        SCAN_BODY: PIPELINE_SCAN.body,
      });
      const { factory, store, scanner } = emptyScanner();
      const before = process.cpuUsage();
      const s = await scanner.sweep(dir);
      computeDigest(s.records, { since: new Date(0), until: new Date(now + 86_400_000) });
      const used = process.cpuUsage(before);
      // The sweep ran the script once more; its remote CPU was measured separately just above.
      scanCpu.push(remote + (used.user + used.system) / 1000);
      await factory.redis().del(store.key(dir));
    }
    const cpuRatio = median(scanCpu) / median(grepCpu);
    console.error(
      `CPU: grep ${median(grepCpu).toFixed(0)} ms, first sweep ${median(scanCpu).toFixed(0)} ms (remote script + this process)`,
    );

    const grep = median(grepMs);
    const first = median(firstMs);
    const resweep = median(resweepMs);
    console.error(
      `median: grep ${grep.toFixed(0)} ms, first sweep ${first.toFixed(0)} ms, re-sweep ${resweep.toFixed(0)} ms; ` +
        `returned ${(bytesReturned / 1024).toFixed(0)} KiB of ${(logBytes / 2 ** 20).toFixed(0)} MiB; succeeded ${counted}`,
    );
    const round = (x: number) => Math.round(x * 10_000) / 10_000;
    console.log(
      `RESULT ${JSON.stringify({
        logs: LOGS,
        digestVsGrep: round(first / grep),
        resweepVsFirst: round(resweep / first),
        bytesReturnedOverLogBytes: Number((bytesReturned / logBytes).toExponential(3)),
        cpuDigestVsGrep: round(cpuRatio),
        digestVsGrepCold: round(median(firstColdMs) / median(grepColdMs)),
      })}`,
    );
  } finally {
    for (const f of factories) await f.close(0);
    await transport.close();
    if (KEEP_DIR || REUSE_DIR) console.error(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
    await tb.stop();
  }
}

await main();
