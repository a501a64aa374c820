import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import { commandDeps, type TestDeps } from '../../helpers/command-deps.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';
import { runCli } from '../../helpers/run-cli.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

const run = promisify(execFile);
const SECRET = 'surface-signing-secret';
const root = new URL('../../..', import.meta.url).pathname;

/** The lines of the monospace table(s) in a Slack message, as a person would read them. */
function slackTableLines(blocks: unknown): string[] {
  return (blocks as { text?: { text: string } }[])
    .map((b) => b.text?.text ?? '')
    .filter((t) => t.startsWith('```'))
    .flatMap((t) => t.replace(/^```|```$/g, '').split('\n'));
}

describe('Slack, the CLI and the console give the same answers', () => {
  const tb = inject('testbed');
  let fake: FakeSlack;
  let bot: SlackBot;
  let deps: TestDeps;
  let url: string;
  let env: Record<string, string>;
  let jobName: string;
  let jobId: string;

  beforeAll(async () => {
    const work = await mkdtemp(join(tb.dir, 'surfaces-'));
    const base = join(work, 'checkpoints');
    for (const [exp, n] of [
      ['pythia-160m-seed42', 3],
      ['pythia-410m', 1],
    ] as const) {
      for (let i = 1; i <= n; i++)
        await mkdir(join(base, exp, `global_step${i * 1000}`), { recursive: true });
    }
    // A real job in the real test cluster, so /train list has something to show.
    const local = new LocalTransport({ env: tb.slurm.env });
    jobName = `surf-${Date.now() % 100000}`;
    const sb = await local.run([
      'sbatch',
      '--parsable',
      `--job-name=${jobName}`,
      '-o',
      '/dev/null',
      '--wrap',
      'sleep 120',
    ]);
    jobId = sb.stdout.trim().split(';')[0] as string;
    expect(jobId).toMatch(/^\d+$/);

    fake = await FakeSlack.start();
    env = {
      SLACK_MODE: 'http',
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      CLUSTER_TRANSPORT: 'local',
      CHECKPOINTS_BASE_DIR: base,
      AUDIT_LOG: join(work, 'audit.jsonl'),
      // Never the system Redis: the testbed's own, should anything connect.
      REDIS_URL: tb.redis.url,
    };
    deps = commandDeps({ transport: local, env });
    bot = slackBotFor(deps, { port: 0 });
    url = `http://127.0.0.1:${(await bot.start()).port}/slack/events`;
  });
  afterAll(async () => {
    await new LocalTransport({ env: tb.slurm.env }).run(['scancel', jobId]).catch(() => {});
    await bot?.stop();
    await fake?.stop();
  });

  const viaSlack = async (command: string, text: string) => {
    const responseUrl = fake.responseUrl();
    const body = slashCommandBody({ command, text, user_id: 'U0READER', response_url: responseUrl });
    const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
    expect(res.status).toBe(200);
    const id = responseUrl.split('/').at(-1);
    return (await fake.waitFor(() => fake.responses.find((r) => r.id === id), 15_000, text)).body;
  };

  const viaCli = (argv: string[], stdinText?: string) =>
    runCli({ argv, env, localEnv: tb.slurm.env, ...(stdinText === undefined ? {} : { stdinText }) });

  it('/ckpt list: same table in Slack, `chatops ckpt list`, and the console; --json is the data', async () => {
    const slack = await viaSlack('/ckpt', 'list');
    const cli = await viaCli(['ckpt', 'list']);
    expect(cli.code).toBe(0);
    const table = slackTableLines(slack.blocks);
    expect(table.slice(2)).toEqual([
      'pythia-160m-seed42  3            3000',
      'pythia-410m         1            1000',
    ]);
    for (const line of table) expect(cli.out).toContain(line);

    const json = await viaCli(['ckpt', 'list', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      experiments: [
        { name: 'pythia-160m-seed42', checkpoints: 3, latestStep: 3000 },
        { name: 'pythia-410m', checkpoints: 1, latestStep: 1000 },
      ],
      totalCheckpoints: 4,
    });

    const con = await viaCli(['console'], '/ckpt list\nckpt list\n');
    expect(con.code).toBe(0);
    const answers = con.out
      .split(/^> .*$/m)
      .map((s) => s.trim())
      .filter(Boolean);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toBe(answers[1]);
    expect(answers[0]).toBe(cli.out.trim());
  });

  it('/train list: the real queue from the test cluster on every surface', async () => {
    const slack = await viaSlack('/train', 'list');
    const slackRow = slackTableLines(slack.blocks).find((l) => l.includes(jobName));
    expect(slackRow).toBeDefined();
    const json = await viaCli(['train', 'list', '--json']);
    expect(json.code).toBe(0);
    const data = JSON.parse(json.out) as { jobs: { id: string; name: string; state: string }[] };
    expect(data.jobs).toContainEqual(expect.objectContaining({ id: jobId, name: jobName }));
    const con = await viaCli(['console'], 'train list\n');
    const conRow = con.out.split('\n').find((l) => l.includes(jobName));
    // Same job, same columns; only the elapsed time may have ticked between the two calls.
    const cols = (row: string) => row.split(/\s{2,}/).filter((_, i) => i !== 4);
    expect(cols(conRow ?? '')).toEqual(cols(slackRow ?? ''));
  });

  it('errors read the same everywhere and exit non-zero on the CLI', async () => {
    const slack = await viaSlack('/train', 'list "Bad User"');
    const cli = await viaCli(['train', 'list', 'Bad User']);
    expect(cli.code).toBe(1);
    expect(slack.response_type).toBe('ephemeral');
    expect(String(slack.text)).toContain('&lt;user&gt;: a cluster user name is lower-case');
    expect(cli.err).toContain('<user>: a cluster user name is lower-case');
    expect(cli.err).toContain('Usage: /train list [user]');
    const con = await viaCli(['console'], '/train list "Bad User"\n');
    expect(con.code).toBe(1);
    expect(con.err).toBe(cli.err);
  });

  it('the chatops bin runs without a build: one-shot --json and piped console', async () => {
    const childEnv = { ...process.env, ...env, ...tb.slurm.env };
    const one = await run(join(root, 'bin/chatops.cjs'), ['ckpt', 'list', '--json'], { env: childEnv });
    expect(JSON.parse(one.stdout)).toMatchObject({ totalCheckpoints: 4 });
    const piped = await run('sh', ['-c', `echo '/train list' | ${join(root, 'bin/chatops.cjs')} console`], {
      env: childEnv,
    });
    expect(piped.stdout).toContain(jobName);
  }, 60_000);
});
