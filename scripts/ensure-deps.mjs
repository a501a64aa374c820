#!/usr/bin/env node
// Runs before `npm test` and `npm run demo` (plain Node, no dependencies): installs what the suite needs on a
// fresh Debian machine — npm packages, then the Debian packages behind the testbed (test/testbed/README.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

function npmPackagesCurrent() {
  const lock = `${root}package-lock.json`;
  const installed = `${root}node_modules/.package-lock.json`;
  if (!existsSync(installed)) return false;
  const want = JSON.parse(readFileSync(lock, 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(installed, 'utf8')).packages ?? {};
  return Object.entries(want).every(([k, v]) => k === '' || v.optional || have[k]?.version === v.version);
}

if (!npmPackagesCurrent()) {
  console.error('[ensure-deps] installing npm packages (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

// binary → Debian package
const debian = {
  'redis-server': 'redis-server',
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  munged: 'munge',
  slurmctld: 'slurmctld',
  slurmd: 'slurmd',
  sbatch: 'slurm-client',
  // test fixtures (the fake checkpoint pipeline) and process checks in the transport tests
  python3: 'python3',
  pgrep: 'procps',
  // `npm run lint` checks the programs the bot runs on the cluster (src/cluster/remote/)
  shellcheck: 'shellcheck',
  perl: 'perl',
  // the deploy test has systemd verify the unit in deploy/ (the package alone; nothing is started)
  'systemd-analyze': 'systemd',
};
const found = (bin) =>
  ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'].some((d) =>
    existsSync(`${d}/${bin}`),
  );
// file → Debian package: the font the charts are laid out for and drawn with (src/charts/chart-png.ts)
const debianFiles = {
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf': 'fonts-dejavu-core',
};
const missing = [
  ...new Set([
    ...Object.entries(debian)
      .filter(([bin]) => !found(bin))
      .map(([, pkg]) => pkg),
    ...Object.entries(debianFiles)
      .filter(([file]) => !existsSync(file))
      .map(([, pkg]) => pkg),
  ]),
];
if (missing.length > 0) {
  if (process.getuid?.() !== 0 || !found('apt-get')) {
    console.error(
      `[ensure-deps] missing Debian packages: ${missing.join(' ')}\n  install them as root: apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  console.error(`[ensure-deps] installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (update.status !== 0 || install.status !== 0) {
    console.error(`[ensure-deps] apt-get failed; install by hand: apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
}
