import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Daemon, logTail, runCmd, sleep, spawnDaemon, waitUntil } from './daemon.js';
import { freePort } from './free-port.js';
import { requireBinaries } from './require-binaries.js';

export interface SlurmInfo {
  confPath: string;
  env: { SLURM_CONF: string };
  partition: string;
}

export interface SlurmService {
  info: SlurmInfo;
  /**
   * Restart slurmctld as an operator would (SIGTERM, then start it again on its saved state after `downMs`):
   * running jobs carry on under slurmd; client commands fail while it is down.
   */
  restartController(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const PARTITION = 'debug';

/** Where the cluster's config will live; sshd's SetEnv needs it before the cluster starts. */
export function slurmConfPath(dir: string): string {
  return join(dir, 'slurm', 'slurm.conf');
}

function slurmConf(sdir: string, mungeSocket: string, ctldPort: number, slurmdPort: number): string {
  // What works on Debian 12 / slurm-wlm 22.05 as root, with our own munge socket.
  return `${[
    'ClusterName=testbed',
    'SlurmctldHost=localhost',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    'SlurmUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${mungeSocket}`,
    'CredType=cred/munge',
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SchedulerType=sched/backfill',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'SlurmdParameters=config_overrides',
    'ReturnToService=2',
    `StateSaveLocation=${join(sdir, 'state')}`,
    `SlurmdSpoolDir=${join(sdir, 'spool')}`,
    `SlurmctldPidFile=${join(sdir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(sdir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(sdir, 'slurmctld.log')}`,
    `SlurmdLogFile=${join(sdir, 'slurmd.log')}`,
    'JobCompType=jobcomp/none',
    'AccountingStorageType=accounting_storage/none',
    'MpiDefault=none',
    'MailProg=/bin/true',
    // Finished jobs stay visible to scontrol for 5 minutes (the default), long enough for tests.
    'MinJobAge=300',
    'NodeName=localhost CPUs=32 RealMemory=16000 State=UNKNOWN',
    `PartitionName=${PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP`,
  ].join('\n')}\n`;
}

export async function startSlurm(dir: string): Promise<SlurmService> {
  if (process.getuid?.() !== 0) {
    throw new Error('testbed: the Slurm test cluster runs slurmd as root; run the tests as root');
  }
  const bins = requireBinaries({
    munged: 'munge',
    munge: 'munge',
    slurmctld: 'slurmctld',
    slurmd: 'slurmd',
    sinfo: 'slurm-client',
    sbatch: 'slurm-client',
    scontrol: 'slurm-client',
    scancel: 'slurm-client',
    squeue: 'slurm-client',
  });
  const sdir = join(dir, 'slurm');
  const mdir = join(dir, 'munge');
  await mkdir(join(sdir, 'state'), { recursive: true });
  await mkdir(join(sdir, 'spool'), { recursive: true });
  await mkdir(mdir, { recursive: true, mode: 0o700 });

  // Our own key and socket: nothing shared with a system munged (/run/munge), so testbeds run side by side.
  const keyPath = join(mdir, 'munge.key');
  await writeFile(keyPath, randomBytes(1024), { mode: 0o600 });
  const socket = join(mdir, 'munge.socket');
  const daemons: Daemon[] = [];
  const stopAll = async () => {
    for (const d of [...daemons].reverse()) await d.stop();
  };

  try {
    const munged = spawnDaemon(
      'munged',
      bins.munged,
      [
        '--foreground',
        '--force',
        `--socket=${socket}`,
        `--key-file=${keyPath}`,
        `--pid-file=${join(mdir, 'munged.pid')}`,
        `--log-file=${join(mdir, 'munged.log')}`,
        `--seed-file=${join(mdir, 'munged.seed')}`,
      ],
      { logPath: join(mdir, 'munged.out') },
    );
    daemons.push(munged);
    await waitUntil(
      'munged to encode a credential',
      async () => (await runCmd(bins.munge, ['-n', '-S', socket])).code === 0,
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        daemons: [munged],
      },
    );

    const confPath = slurmConfPath(dir);
    const env = { ...process.env, SLURM_CONF: confPath };
    let started = false;
    let controller: Daemon | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= 3 && !started; attempt++) {
      const ctldPort = await freePort();
      let slurmdPort = await freePort();
      while (slurmdPort === ctldPort) slurmdPort = await freePort();
      await writeFile(confPath, slurmConf(sdir, socket, ctldPort, slurmdPort));
      // -i: ignore state left by an earlier attempt; -D: foreground, so our pid is the daemon's.
      const ctld = spawnDaemon('slurmctld', bins.slurmctld, ['-D', '-i', '-f', confPath], {
        logPath: join(sdir, 'slurmctld.out'),
        env,
      });
      const slurmd = spawnDaemon('slurmd', bins.slurmd, ['-D', '-N', 'localhost', '-f', confPath], {
        logPath: join(sdir, 'slurmd.out'),
        env,
      });
      try {
        await waitUntil(
          'the node to be idle in sinfo',
          async () => {
            const r = await runCmd(bins.sinfo, ['-h', '-N', '-o', '%T'], { env, timeoutMs: 5000 });
            return r.code === 0 && r.stdout.trim() === 'idle';
          },
          { timeoutMs: 30_000, intervalMs: 200, daemons: [munged, ctld, slurmd] },
        );
        daemons.push(ctld, slurmd);
        controller = ctld;
        started = true;
      } catch (e) {
        lastError = e;
        await slurmd.stop();
        await ctld.stop();
      }
    }
    if (!started) throw lastError;

    // A cluster that lists an idle node can still fail to launch jobs (munge, spool): prove it runs one.
    const sub = await runCmd(
      bins.sbatch,
      ['--parsable', '-o', '/dev/null', '-J', 'testbed-probe', '--wrap', 'true'],
      {
        env,
      },
    );
    const probeId = sub.stdout.trim().split(';')[0];
    if (sub.code !== 0 || !probeId) throw new Error(`testbed: sbatch probe failed: ${sub.stderr.trim()}`);
    let lastState = '';
    try {
      await waitUntil(
        `probe job ${probeId} to complete`,
        async () => {
          const r = await runCmd(bins.scontrol, ['show', 'job', '-o', probeId], { env, timeoutMs: 5000 });
          lastState = /JobState=(\S+)/.exec(r.stdout)?.[1] ?? '';
          return ['COMPLETED', 'FAILED', 'CANCELLED', 'NODE_FAIL', 'TIMEOUT', 'OUT_OF_MEMORY'].includes(
            lastState,
          );
        },
        { timeoutMs: 30_000, intervalMs: 200, daemons },
      );
      if (lastState !== 'COMPLETED') throw new Error(`testbed: probe job ${probeId} ended ${lastState}`);
    } catch (e) {
      throw new Error(
        `${(e as Error).message} (last state ${lastState || 'unknown'})\n--- slurmd.log\n${logTail(join(sdir, 'slurmd.log'))}`,
      );
    }

    return {
      info: { confPath, env: { SLURM_CONF: confPath }, partition: PARTITION },
      async restartController(downMs = 2_000) {
        const old = controller;
        if (old) {
          await old.stop();
          daemons.splice(daemons.indexOf(old), 1);
        }
        await sleep(downMs);
        // No -i this time: the jobs it knew come back from StateSaveLocation.
        const ctld = spawnDaemon('slurmctld', bins.slurmctld, ['-D', '-f', confPath], {
          logPath: join(sdir, 'slurmctld.out'),
          env,
        });
        // Before slurmd, so stopAll (which goes in reverse) still stops the controller last.
        daemons.splice(daemons.length - 1, 0, ctld);
        controller = ctld;
        await waitUntil(
          'slurmctld to answer again',
          async () => (await runCmd(bins.sinfo, ['-h', '-o', '%T'], { env, timeoutMs: 5000 })).code === 0,
          { timeoutMs: 30_000, intervalMs: 200, daemons: [ctld] },
        );
      },
      async stop() {
        // Jobs run under slurmstepd, which outlives slurmd: cancel them first so nothing keeps running.
        await runCmd(bins.scancel, ['--partition', PARTITION], { env, timeoutMs: 5000 });
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const q = await runCmd(bins.squeue, ['-h', '-o', '%i'], { env, timeoutMs: 3000 });
          if (q.code !== 0 || q.stdout.trim() === '') break;
          await sleep(200);
        }
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
