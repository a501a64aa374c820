import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { childPids, type Daemon, mustRun, runCmd, spawnDaemon, waitUntil } from './daemon.js';
import { freePort } from './free-port.js';
import { requireBinaries } from './require-binaries.js';

export interface SshInfo {
  host: '127.0.0.1';
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
  fingerprint: string;
}

export interface SshService {
  info: SshInfo;
  daemon: Daemon;
  /** sshd_config path (tests that restart sshd start it again with the same config and port). */
  configPath: string;
  /**
   * Start sshd again on the same port and keys (for reconnect tests). With `cut`, the processes serving
   * open connections are killed first (SIGKILL), so every connection drops mid-whatever it was doing, as
   * when the host goes away; without, they outlive the listener, as in an OpenSSH restart.
   */
  restart(opts?: { cut?: boolean }): Promise<Daemon>;
}

export async function startSshd(dir: string, env: Record<string, string>): Promise<SshService> {
  const bins = requireBinaries({
    sshd: 'openssh-server',
    'ssh-keygen': 'openssh-client',
    ssh: 'openssh-client',
  });
  const sdir = join(dir, 'ssh');
  mkdirSync(sdir, { recursive: true, mode: 0o700 });
  // sshd's privilege-separation dir; the Debian service normally creates it at boot.
  try {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    // Not root: sshd will say in its log what it is missing, and waitUntil shows that log.
  }

  const hostKey = join(sdir, 'host_ed25519_key');
  const keyPath = join(sdir, 'id_ed25519');
  await mustRun(bins['ssh-keygen'], ['-q', '-t', 'ed25519', '-N', '', '-C', 'testbed-host', '-f', hostKey]);
  await mustRun(bins['ssh-keygen'], ['-q', '-t', 'ed25519', '-N', '', '-C', 'testbed-client', '-f', keyPath]);
  const authorizedKeys = join(sdir, 'authorized_keys');
  await writeFile(authorizedKeys, await readFile(`${keyPath}.pub`), { mode: 0o600 });

  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
  const fp = (await mustRun(bins['ssh-keygen'], ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`])).stdout;
  const fingerprint = /SHA256:[A-Za-z0-9+/=]+/.exec(fp)?.[0];
  if (!fingerprint) throw new Error(`testbed: could not read host key fingerprint from: ${fp}`);

  const user = userInfo().username;
  const configPath = join(sdir, 'sshd_config');
  const knownHostsPath = join(sdir, 'known_hosts');
  const pidFile = join(sdir, 'sshd.pid');
  // SHLVL=1 makes bash skip ~/.bashrc for ssh commands (bash sources it only when SHLVL is unset): on this
  // machine root's .bashrc runs `pyenv init`, which costs ~1 s per command and would swamp every timing.
  const setEnv = Object.entries({ SHLVL: '1', ...env }).map(([k, v]) => `${k}=${v}`);

  const writeConfig = async (port: number) => {
    const lines = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'MaxSessions 10',
      // Benchmarks open many fresh connections at once; the default 10:30:100 would drop some.
      'MaxStartups 200:30:400',
      'PrintMotd no',
      'LogLevel INFO',
      `SetEnv ${setEnv.join(' ')}`,
    ];
    await writeFile(configPath, `${lines.join('\n')}\n`);
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  };

  const launch = async (port: number): Promise<Daemon> => {
    const daemon = spawnDaemon('sshd', bins.sshd, ['-D', '-e', '-f', configPath], {
      logPath: join(sdir, 'sshd.log'),
    });
    try {
      await waitUntil(
        `sshd on port ${port} to accept our key`,
        async () =>
          (
            await runCmd(
              bins.ssh,
              [
                '-p',
                String(port),
                '-i',
                keyPath,
                '-o',
                'BatchMode=yes',
                '-o',
                'IdentitiesOnly=yes',
                '-o',
                `UserKnownHostsFile=${knownHostsPath}`,
                '-o',
                'StrictHostKeyChecking=yes',
                '-o',
                'ConnectTimeout=2',
                '-F',
                '/dev/null',
                `${user}@127.0.0.1`,
                'true',
              ],
              { timeoutMs: 5000 },
            )
          ).code === 0,
        { timeoutMs: 10_000, intervalMs: 100, daemons: [daemon] },
      );
    } catch (e) {
      await daemon.stop();
      throw e;
    }
    return daemon;
  };

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    await writeConfig(port);
    try {
      const daemon = await launch(port);
      const service: SshService = {
        info: { host: '127.0.0.1', port, user, keyPath, knownHostsPath, fingerprint },
        daemon,
        configPath,
        async restart(opts = {}) {
          if (opts.cut) {
            for (const pid of childPids(service.daemon.pid)) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // gone already
              }
            }
          }
          await service.daemon.stop();
          service.daemon = await launch(port);
          return service.daemon;
        },
      };
      return service;
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
