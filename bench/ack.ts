import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { z } from 'zod';
import { defineCommand, defineSubcommand } from '../commands/core/command.js';
import { Registry } from '../commands/core/registry.js';
import { commands } from '../commands/index.js';
import { auditingTransport } from '../src/cluster/audited-transport.js';
import { limitedTransport } from '../src/cluster/limited-transport.js';
import { LocalTransport } from '../src/cluster/local/local-transport.js';
import { SlurmClient } from '../src/cluster/slurm.js';
import type { Transport } from '../src/cluster/transport.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createSlackMessenger } from '../src/slack/create-slack-messenger.js';
import { createSlackBot } from '../src/slack/slack-bot.js';
import { commandDeps, MemoryAudit } from '../test/helpers/command-deps.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../test/helpers/fake-slack.js';

// npm run bench -- ack
// 2,000 signed slash commands, 50 in flight at a time, against (a) the product's Slack app in HTTP mode,
// whose command runs `sleep 5` on the "cluster" (the local transport, bounded like the bot's SSH channels),
// and (b) a bare Bolt app that only acks — same machine, same client, same run, interleaved in rounds so
// drift hits both alike. Measures the time to the HTTP 200 (the ack). Timeouts = acks later than 3 s.

const TOTAL = Number(process.env.ACK_BENCH_TOTAL ?? 2000);
const CONCURRENCY = Number(process.env.ACK_BENCH_CONCURRENCY ?? 50);
const ROUNDS = 8;
const WARMUP = 100;
const SECRET = 'bench-signing-secret';

// The slow command runs the bench's own audited transport (product commands are given typed services).
let benchTransport: Transport | undefined;

const slow = defineCommand({
  name: 'bench',
  summary: 'benchmark command',
  usageHint: 'slow',
  subcommands: [
    defineSubcommand({
      name: 'slow',
      summary: 'a cluster command that takes 5 s',
      usage: '/bench slow',
      help: 'sleep 5 on the cluster',
      permission: 'read',
      args: z.object({}),
      async run() {
        await benchTransport?.run(['sleep', '5'], { timeoutMs: 600_000 });
        return { text: 'done' };
      },
    }),
  ],
});

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(port: number, body: string): Promise<{ status: number; ms: number }> {
  const headers = signedHeaders(SECRET, body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/slack/events', method: 'POST', agent, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(port: number, n: number, responseUrl: () => string): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const body = slashCommandBody({
        command: '/bench',
        text: 'slow',
        user_id: 'U0BENCH',
        response_url: responseUrl(),
      });
      const r = await post(port, body);
      if (r.status !== 200) throw new Error(`HTTP ${r.status} from port ${port}`);
      times.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return times;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

export default async function bench(): Promise<void> {
  const fake = await FakeSlack.start();
  const config = loadConfig({
    SLACK_MODE: 'http',
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    CLUSTER_TRANSPORT: 'local',
    LOG_LEVEL: 'silent',
  });
  const log = silentLogger();

  // (a) the product: real registry + the slow command, composed the way src/main.ts composes it.
  const raw = limitedTransport(new LocalTransport(), config.SSH_MAX_CHANNELS);
  const transport = auditingTransport(raw);
  benchTransport = transport;
  const messenger = createSlackMessenger(config, log);
  // Every other service as the tests build it; the slow command needs only the Slurm client.
  const { services } = commandDeps({ transport: raw });
  const bot = createSlackBot({
    config,
    log,
    port: 0,
    messenger,
    deps: {
      registry: new Registry([...commands, slow]),
      services: { ...services, slurm: new SlurmClient(transport), messenger },
      config,
      audit: new MemoryAudit(),
      log,
    },
  });
  const productPort = (await bot.start()).port as number;

  // (b) a bare Bolt app on the same receiver type that only acks.
  const bareReceiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
  const bare = new App({
    token: 'xoxb-bench',
    receiver: bareReceiver,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: fake.apiUrl },
  });
  bare.command('/bench', async ({ ack }) => {
    await ack();
  });
  const bareServer = await bareReceiver.start(0);
  const barePort = (bareServer.address() as AddressInfo).port;

  const url = () => fake.responseUrl();
  await load(productPort, WARMUP, url);
  await load(barePort, WARMUP, url);

  const product: number[] = [];
  const bareTimes: number[] = [];
  const per = Math.ceil(TOTAL / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const n = Math.min(per, TOTAL - r * per);
    // Alternate which goes first, so neither always runs on a quieter machine.
    if (r % 2 === 0) {
      product.push(...(await load(productPort, n, url)));
      bareTimes.push(...(await load(barePort, n, url)));
    } else {
      bareTimes.push(...(await load(barePort, n, url)));
      product.push(...(await load(productPort, n, url)));
    }
    console.error(
      `[ack] round ${r + 1}/${ROUNDS}: product p99 ${r1(pct(product, 99))} ms, bare p99 ${r1(pct(bareTimes, 99))} ms, ` +
        `cluster commands waiting ${raw.waiting}`,
    );
  }

  const result = {
    ackP50Ms: r1(pct(product, 50)),
    ackP99Ms: r1(pct(product, 99)),
    bareBoltP50Ms: r1(pct(bareTimes, 50)),
    bareBoltP99Ms: r1(pct(bareTimes, 99)),
    ackP99VsBareBolt: Math.round((pct(product, 99) / pct(bareTimes, 99)) * 100) / 100,
    timeouts: product.filter((ms) => ms > 3000).length,
    bareTimeouts: bareTimes.filter((ms) => ms > 3000).length,
    commands: product.length,
    concurrency: CONCURRENCY,
    clusterCommandMs: 5000,
  };

  // The queued `sleep 5`s are abandoned, not waited for: only the acks were being measured.
  await raw.close();
  await bot.stop();
  await bareReceiver.stop();
  agent.destroy();
  await fake.stop();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}
