import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MONITOR_QUEUE, TrainingMonitor } from '../jobs/monitor-training.js';
import { ClusterFiles } from '../src/cluster/cluster-files.js';
import { SlurmClient } from '../src/cluster/slurm.js';
import { SshTransport } from '../src/cluster/ssh/ssh-transport.js';
import { silentLogger } from '../src/logger.js';
import type { MessageTarget, Messenger } from '../src/messenger.js';
import { QueueFactory } from '../src/queue/queue-factory.js';
import type { Reply } from '../src/reply.js';
import { startTestbed } from '../src/sandbox/testbed.js';

// npm run bench -- monitor: 100 training jobs (real Slurm jobs on the testbed) watched at once by one bot
// over SSH while their logs grow. Measures squeue calls per poll, bytes read from the logs over bytes
// appended to them, and the bot's CPU per poll. The appender runs in a child process so its CPU is not
// counted. Side by side: what the hand-run per-job grep loop (`until grep -q …; do sleep 30; done` per job) would cost on the same logs.

const JOBS = 100;
const POLL_MS = 500;
const APPEND_MS = 100;
const MEASURE_MS = 12_000;

class CountingMessenger implements Messenger {
  posts = 0;
  async post(target: MessageTarget, _reply: Reply) {
    this.posts += 1;
    return { channel: target.channel, ts: `1.${this.posts}` };
  }
}

// The "trainers": append real-format iteration lines to every log, report bytes appended on exit.
const APPENDER = `
const fs = require('node:fs');
const files = JSON.parse(process.argv[1]);
const every = Number(process.argv[2]);
let it = 0, bytes = 0;
const fds = files.map((f) => fs.openSync(f, 'a'));
const timer = setInterval(() => {
  it += 1;
  for (const fd of fds) {
    const loss = (6 + 5 * Math.exp(-it / 40)).toExponential(6).toUpperCase().replace(/E([+-])(\\d)$/, 'E$10$2');
    const line = ' samples/sec: 37.512 | iteration ' + String(it).padStart(8) + '/  143000 | elapsed time per iteration (ms): 100.0 | learning rate: 7.500E-06 | approx flops per GPU: 152.3TFLOPS | lm_loss: ' + loss + ' | loss scale: 65536.0 | number of skipped iterations:   0 | number of nan iterations:   0 |\\n';
    bytes += fs.writeSync(fd, line);
  }
}, every);
process.on('message', () => { clearInterval(timer); process.send(bytes); });
`;

export default async function main(): Promise<void> {
  const tb = await startTestbed({ redis: true, ssh: true, slurm: true });
  const transport = new SshTransport({
    host: tb.info.ssh.host,
    port: tb.info.ssh.port,
    username: tb.info.ssh.user,
    keyPath: tb.info.ssh.keyPath,
    knownHostsPath: tb.info.ssh.knownHostsPath,
  });
  const factory = new QueueFactory({
    redisUrl: tb.info.redis.url,
    prefix: `bench${randomUUID().slice(0, 6)}`,
  });
  let monitor: TrainingMonitor | null = null;
  const slurm = new SlurmClient(transport, { cacheTtlMs: 0 });
  const jobIds: string[] = [];
  try {
    // 32 CPUs on the test node: let 4 jobs share a core so all 100 run at once.
    const os = await transport.run(['scontrol', 'update', 'PartitionName=debug', 'OverSubscribe=FORCE:4']);
    if (os.exitCode !== 0) throw new Error(`scontrol update failed: ${os.stderr}`);
    const work = join(tb.info.dir, 'bench-monitor');
    await mkdir(join(work, 'logs', 'training'), { recursive: true });
    const sleeper = join(work, 'sleep.sbatch');
    await writeFile(sleeper, '#!/bin/bash\nsleep 600\n', { mode: 0o755 });
    for (let i = 0; i < JOBS; i++) {
      const r = await slurm.submit({ script: sleeper, jobName: `bench-${i}`, output: '/dev/null' });
      jobIds.push(r.jobId);
    }
    for (;;) {
      const states = await slurm.jobs(jobIds);
      if ([...states.values()].every((j) => j?.state === 'RUNNING')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const logs = jobIds.map((id) => join(work, 'logs', 'training', `neox-training-${id}.out`));
    const header =
      'NeoXArgs.from_ymls()\n-------------------- arguments --------------------\n  log_interval ... 1\ntraining ...\n';
    for (const f of logs) await writeFile(f, header);
    let appended = Buffer.byteLength(header) * JOBS;

    const messenger = new CountingMessenger();
    monitor = new TrainingMonitor({
      factory,
      files: new ClusterFiles(transport),
      slurm,
      messenger,
      neoxDir: work,
      log: silentLogger(),
      pollMs: POLL_MS,
      concurrency: 200,
      options: { stall: { k: 10, minMs: 60_000 } },
    });
    const squeue0 = slurm.stats.squeue;
    monitor.start();
    for (let i = 0; i < JOBS; i++) {
      await monitor.watch({
        jobId: jobIds[i] ?? '',
        logPath: logs[i] ?? '',
        configPath: null,
        save: null,
        saveInterval: null,
        submitter: null,
        channel: 'CBENCH',
        threadTs: null,
      });
    }
    const active = factory.queue(MONITOR_QUEUE);
    for (;;) {
      if ((await active.getActiveCount()) === JOBS) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const appender = spawn(process.execPath, ['-e', APPENDER, JSON.stringify(logs), String(APPEND_MS)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ticks0 = monitor.ticker.stats.ticks;
    const cpu0 = process.cpuUsage();
    // What a grep loop per job would read: every whole log, every poll.
    let naiveBytes = 0;
    const sample = setInterval(() => {
      void Promise.all(logs.map((f) => stat(f).then((s) => s.size))).then((sizes) => {
        naiveBytes += sizes.reduce((a, b) => a + b, 0);
      });
    }, POLL_MS);
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    clearInterval(sample);
    appended += await new Promise<number>((resolve) => {
      appender.once('message', (n) => resolve(Number(n)));
      appender.send('stop');
    });
    appender.kill();
    // Let the watch catch up with the last lines, then compare.
    const sizes = await Promise.all(logs.map((f) => stat(f).then((s) => s.size)));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ds = await Promise.all(jobIds.map((id) => monitor?.get(id)));
      if (ds.every((d, i) => d?.offset === sizes[i]) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cpu = process.cpuUsage(cpu0);
    const ticks = monitor.ticker.stats.ticks - ticks0;
    // squeue calls and polls over the monitor's whole life, so no poll straddles a window edge.
    const squeueCallsPerPoll = (slurm.stats.squeue - squeue0) / monitor.ticker.stats.ticks;
    const stored = await Promise.all(jobIds.map((id) => monitor?.get(id)));
    const bytesRead = stored.reduce((a, d) => a + (d?.bytesRead ?? 0), 0);
    const iterations = stored.reduce((a, d) => a + (d?.scan.iterationsLogged ?? 0), 0);
    const result = {
      jobs: JOBS,
      polls: ticks,
      squeueCallsPerPoll: Number(squeueCallsPerPoll.toFixed(3)),
      logReadCallsPerPoll: Number((monitor.reader.stats.calls / monitor.ticker.stats.ticks).toFixed(2)),
      bytesReadOverAppended: Number((bytesRead / appended).toFixed(4)),
      cpuMsPerPoll: Number(((cpu.user + cpu.system) / 1000 / ticks).toFixed(1)),
      naiveSqueueCallsPerPoll: JOBS,
      naiveBytesReadOverAppended: Number((naiveBytes / appended).toFixed(1)),
      iterationLinesParsed: iterations,
      reports: messenger.posts,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    await monitor?.close();
    await factory.close(0);
    await Promise.allSettled(jobIds.map((id) => slurm.cancel(id)));
    await transport.close();
    await tb.stop();
  }
}
