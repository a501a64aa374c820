import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAction, defineCommand, defineSubcommand } from '../../../commands/core/command.js';
import { Registry } from '../../../commands/core/registry.js';
import type { Services } from '../../../commands/core/services.js';
import { commands } from '../../../commands/index.js';
import { LocalTransport } from '../../../src/cluster/local/local-transport.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import * as z from '../../../src/zod.js';
import { commandDeps, RecordingTransport, type TestDeps } from '../../helpers/command-deps.js';
import { buttonClickBody, FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

// Messages Slack would refuse, channels the bot is not in, long button payloads: through the real Bolt app
// (HTTP and Socket Mode) against the strict Web API stand-in.

const SECRET = 'fit-signing-secret';
const LONG_PATH = `/home/alice/neox/configs/${'very-deep-directory/'.repeat(150)}config.yml`;
const clicked: string[] = [];

const probe = defineCommand({
  name: 'probe',
  summary: 'test command',
  usageHint: 'button | twins | chart',
  subcommands: [
    defineSubcommand({
      name: 'button',
      summary: 'a button whose payload is longer than Slack allows in a value',
      usage: '/probe button',
      help: 'test',
      permission: 'read',
      args: z.object({}),
      async run() {
        return {
          level: 'warn',
          text: 'Check before submitting',
          buttons: [
            {
              actionId: 'probe.go',
              label: 'Submit anyway',
              value: JSON.stringify({ config: LONG_PATH }),
              confirm: {
                title: 'Submit?',
                text: `Submit ${LONG_PATH}? This cannot be undone.`,
                confirm: 'Submit',
                deny: 'No',
              },
            },
          ],
        };
      },
    }),
    defineSubcommand({
      name: 'twins',
      summary: 'two buttons with one action id',
      usage: '/probe twins',
      help: 'test',
      permission: 'read',
      args: z.object({}),
      async run() {
        return {
          text: 'Two fixes',
          buttons: [
            { actionId: 'probe.go', label: 'Fix A', value: '{"config":"/a"}' },
            { actionId: 'probe.go', label: 'Fix B', value: '{"config":"/b"}' },
          ],
        };
      },
    }),
    defineSubcommand({
      name: 'chart',
      summary: 'a reply with a chart',
      usage: '/probe chart',
      help: 'test',
      permission: 'read',
      args: z.object({}),
      async run() {
        return {
          title: 'Loss',
          chart: {
            kind: 'line',
            title: 'lm_loss',
            series: [
              { name: 'lm_loss', points: Array.from({ length: 20 }, (_, i) => [i, 10 - i / 3] as const) },
            ],
          },
        };
      },
    }),
  ],
  actions: [
    defineAction({
      id: 'probe.go',
      permission: 'read',
      value: z.string(),
      async run(value) {
        clicked.push(value);
        return {
          level: 'ok',
          text: `Submitted ${(JSON.parse(value) as { config: string }).config.slice(-10)}`,
        };
      },
    }),
  ],
});

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'slack-fit-'));
  // 200 experiments with the team's kind of names (a message fits about 190) and one with 700 checkpoints (rows without a repo are short).
  for (let i = 0; i < 200; i++)
    await mkdir(join(base, `pythia-1.4b-dedup-lr3e-4-exp-${String(i).padStart(3, '0')}`, 'global_step10'), {
      recursive: true,
    });
  for (let s = 1; s <= 700; s++) await mkdir(join(base, 'big', `global_step${s * 100}`), { recursive: true });
});

type Mode = 'http' | 'socket';

async function start(mode: Mode, fake: FakeSlack) {
  const transport = new RecordingTransport(new LocalTransport());
  const deps: TestDeps = commandDeps({
    transport,
    registry: new Registry([...commands, probe]),
    // /ckpt status reads no pipeline logs and an empty queue here: every checkpoint is "none".
    services: {
      digest: { cluster: { sweep: async () => ({ records: [] }) } } as unknown as Services['digest'],
      uploads: { queue: { jobsFor: async () => new Map() } } as unknown as Services['uploads'],
    },
    env: {
      SLACK_MODE: mode,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      ...(mode === 'http' ? { SLACK_SIGNING_SECRET: SECRET } : { SLACK_APP_TOKEN: 'xapp-test-token' }),
      SLACK_API_URL: fake.apiUrl,
      OPERATORS: 'U0OPERATOR',
      CHECKPOINTS_BASE_DIR: base,
      HF_ORG: 'org',
    },
  });
  const bot = slackBotFor(deps, mode === 'http' ? { port: 0 } : {});
  const { port } = await bot.start();
  if (mode === 'socket') await fake.connected();
  const url = `http://127.0.0.1:${port}/slack/events`;
  /** A slash command as Slack delivers it in this mode; resolves with the response_url post. */
  const command = async (cmd: string, text: string, channel: string, user = 'U0OPERATOR') => {
    const responseUrl = fake.responseUrl();
    const id = responseUrl.split('/').at(-1) as string;
    if (mode === 'http') {
      const body = slashCommandBody({
        command: cmd,
        text,
        user_id: user,
        channel_id: channel,
        response_url: responseUrl,
      });
      const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
      expect(res.status).toBe(200);
    } else {
      await fake.sendSlashCommand({
        command: cmd,
        text,
        user_id: user,
        channel_id: channel,
        response_url: responseUrl,
        team_id: 'T0FAKE',
        api_app_id: 'A0FAKEAPP',
        trigger_id: '1.fake',
      });
    }
    return id;
  };
  return { bot, deps, transport, url, command };
}

for (const mode of ['http', 'socket'] as const) {
  describe(`Slack fidelity (${mode})`, () => {
    let fake: FakeSlack;
    let bot: SlackBot;
    let s: Awaited<ReturnType<typeof start>>;
    beforeAll(async () => {
      fake = await FakeSlack.start();
      fake.channel('C0TEAM', { member: true });
      fake.channel('C0OPEN'); // public, the bot not in it yet
      fake.channel('G0SECRET', { kind: 'private' });
      fake.channel('C0OLD', { member: true, archived: true });
      s = await start(mode, fake);
      bot = s.bot;
    });
    afterAll(async () => {
      await bot?.stop();
      await fake?.stop();
    });

    it('/ckpt list over 200 experiments: a message Slack accepts, the rest as a CSV in its thread', async () => {
      await s.command('/ckpt', 'list', 'C0TEAM', 'U0READER');
      const file = await fake.waitFor(
        () => fake.files.find((f) => f.channel === 'C0TEAM' && f.filename.endsWith('.csv')),
        15_000,
        'the CSV',
      );
      const msg = fake.messagesIn('C0TEAM').find((m) => m.ts === file.threadTs);
      expect(msg).toBeDefined();
      const shown = JSON.stringify(msg?.blocks).match(/exp-\d{3}/g) ?? [];
      expect(shown.length).toBeGreaterThan(20);
      expect(JSON.stringify(msg?.blocks)).toContain(
        `… and ${200 - shown.length} more rows: full table (\`checkpoints.csv\`) attached.`,
      );
      const csv = file.data.toString('utf8').trim().split('\r\n');
      expect(csv).toHaveLength(202); // the header, 200 experiments and `big`
      expect(csv.at(-1)).toMatch(/^pythia-1.4b-dedup-lr3e-4-exp-\d{3},1,10$/);
      expect(fake.refusals.filter((r) => r.method === 'chat.postMessage')).toEqual([]);
    });

    it('/ckpt status over 700 checkpoints fits, the full table attached', async () => {
      await s.command('/ckpt', 'status big', 'C0TEAM', 'U0READER');
      const file = await fake.waitFor(
        () => fake.files.find((f) => f.filename.includes('big')),
        15_000,
        'the CSV',
      );
      expect(file.data.toString('utf8').trim().split('\r\n')).toHaveLength(701);
      const msg = fake.messagesIn('C0TEAM').find((m) => m.ts === file.threadTs);
      expect(JSON.stringify(msg?.blocks)).toMatch(/… and \d+ more rows: full table/);
    });

    it('joins a public channel it is not in before posting there', async () => {
      await s.command('/ckpt', 'list', 'C0OPEN', 'U0READER');
      await fake.waitFor(() => fake.files.find((f) => f.channel === 'C0OPEN'), 15_000, 'the CSV in C0OPEN');
      expect(fake.callsTo('conversations.join').some((c) => c.params.channel === 'C0OPEN')).toBe(true);
      expect(fake.channels.get('C0OPEN')?.member).toBe(true);
    });

    it('refuses /ckpt upload and /train submit where it cannot post, before anything runs', async () => {
      const before = s.transport.calls.length;
      for (const [cmd, text] of [
        ['/ckpt', 'upload big --all'],
        ['/train', 'submit /tmp/x.yml'],
      ] as const) {
        for (const channel of ['G0SECRET', 'C0OLD']) {
          const id = await s.command(cmd, text, channel);
          const r = await fake.waitFor(() => fake.responses.find((x) => x.id === id), 15_000, 'the refusal');
          expect(r.body.response_type).toBe('ephemeral');
          expect(String(r.body.text)).toMatch(/Invite @chatops to this channel/);
          expect(String(r.body.text)).toMatch(/Nothing was started/);
        }
      }
      // Only the upload's listing of the checkpoints ran (twice); nothing was submitted or queued.
      expect(s.transport.calls.slice(before).every((c) => !c.includes('sbatch'))).toBe(true);
      expect(fake.callsTo('chat.postMessage').filter((c) => c.params.channel === 'G0SECRET')).toEqual([]);
    });

    it('keeps a payload too long for a button value server-side, and the click gets it whole', async () => {
      const id = await s.command('/probe', 'button', 'C0TEAM');
      const r = await fake.waitFor(() => fake.responses.find((x) => x.id === id), 15_000, 'the reply');
      const button = (r.body.blocks as { type: string; elements?: Record<string, unknown>[] }[]).find(
        (b) => b.type === 'actions',
      )?.elements?.[0] as { value: string; action_id: string; confirm: { text: { text: string } } };
      expect(button.value.length).toBeLessThanOrEqual(2000);
      expect(button.confirm.text.text.endsWith('This cannot be undone.')).toBe(true);
      if (mode === 'http') {
        await click(s.url, button.action_id, button.value, fake);
        await fake.waitFor(() => clicked.length > 0, 10_000, 'the action');
        expect(clicked.at(-1)).toBe(JSON.stringify({ config: LONG_PATH }));
      }
    });

    it('gives each action id once per message, and a click on the twin runs the same action', async () => {
      const id = await s.command('/probe', 'twins', 'C0TEAM');
      const r = await fake.waitFor(() => fake.responses.find((x) => x.id === id), 15_000, 'the reply');
      const els = (
        r.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]
      ).find((b) => b.type === 'actions')?.elements;
      expect(els?.map((e) => e.action_id)).toEqual(['probe.go', 'probe.go~2']);
      if (mode === 'http' && els?.[1]) {
        const n = clicked.length;
        await click(s.url, els[1].action_id, els[1].value, fake);
        await fake.waitFor(() => clicked.length > n, 10_000, 'the action');
        expect(clicked.at(-1)).toBe('{"config":"/b"}');
      }
    });

    it("posts a reply's chart in the reply's thread", async () => {
      await s.command('/probe', 'chart', 'C0TEAM');
      const file = await fake.waitFor(
        () => fake.files.find((f) => f.filename.endsWith('.png')),
        15_000,
        'the chart',
      );
      const root = fake.messagesIn('C0TEAM').find((m) => m.ts === file.threadTs);
      expect(root?.text).toContain('Loss');
      expect(root?.threadTs).toBeUndefined();
    });
  });
}

async function click(url: string, actionId: string, value: string, fake: FakeSlack): Promise<void> {
  const body = buttonClickBody({
    user_id: 'U0OPERATOR',
    user_name: 'op',
    channel_id: 'C0TEAM',
    channel_name: 'team',
    message_ts: `${Date.now()}.1`,
    action_id: actionId,
    value,
    response_url: fake.responseUrl(),
  });
  const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
  expect(res.status).toBe(200);
}
