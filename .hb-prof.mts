import { Client } from 'ssh2';
import { readFileSync } from 'node:fs';
import { startTestbed } from './test/testbed/testbed.ts';
const tb = await startTestbed({ redis: false, slurm: false, ssh: true });
const s = tb.info.ssh;
const c = new Client();
await new Promise((res, rej) => { c.on('ready', res); c.on('error', rej); c.connect({ host: s.host, port: s.port, username: s.user, privateKey: readFileSync(s.keyPath) }); });
c.setNoDelay(true);
const rows = [];
for (let i = 0; i < 40; i++) {
  const t0 = performance.now(); const m: Record<string, number> = {};
  await new Promise<void>((res) => c.exec(i % 2 ? 'true' : 'echo $$ >&2; exec true', (err, st) => {
    m.open = performance.now() - t0;
    st.stderr.on('data', () => { m.err ??= performance.now() - t0; });
    st.on('exit', () => { m.exit = performance.now() - t0; });
    st.on('close', () => { m.close = performance.now() - t0; res(); });
    st.end();
  }));
  rows.push(m);
}
const med = (k: string, par: number) => { const xs = rows.filter((_, i) => i % 2 === par).map(r => r[k]).filter(x => x !== undefined).sort((a, b) => a - b); return xs[Math.floor(xs.length / 2)]?.toFixed(1); };
for (const par of [0, 1]) console.log(par ? 'plain true ' : 'wrapped    ', 'open', med('open', par), 'err', med('err', par), 'exit', med('exit', par), 'close', med('close', par));
c.end(); await tb.stop();
