import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Services } from '../../../commands/core/services.js';
import { UndeliverableError } from '../../../src/messenger.js';
import type { SlackBot } from '../../../src/slack/slack-bot.js';
import { BatchThreads } from '../../../src/uploads/batch-progress.js';
import { commandDeps } from '../../helpers/command-deps.js';
import { createUploadEnv, type UploadEnv } from '../../helpers/fake-hub-env.js';
import { FakeSlack, signedHeaders, slashCommandBody } from '../../helpers/fake-slack.js';
import { slackBotFor } from '../../helpers/slack-bot-for.js';

// `/ckpt upload` queues its jobs first; if the batch's progress message then cannot be posted, the answer
// must say the uploads go ahead — not "Something went wrong" for work that runs anyway.

const tb = inject('testbed');
const SECRET = 'upload-reply-secret';
let env: UploadEnv;
let fake: FakeSlack;
let bot: SlackBot;
let url: string;
const redis = new Redis(tb.redis.url, { lazyConnect: true });

beforeAll(async () => {
  env = await createUploadEnv(tb, { hub: { limit: 100, windowMs: 60_000 } });
  await env.makeCheckpoints('exp-r', [100, 200, 300]);
  fake = await FakeSlack.start();
  fake.channel('C0TEAM', { member: true });
  // Slack refuses the batch message for good (as it did for a batch too long for it).
  const refusing = {
    post: async () => {
      throw new UndeliverableError(
        'Slack refused the message for C0TEAM: msg_blocks_too_long',
        'msg_blocks_too_long',
      );
    },
  };
  const uploads = { queue: env.service, batches: new BatchThreads(redis, 'upload-reply:', refusing) };
  const deps = commandDeps({
    transport: env.transport,
    services: { uploads: uploads as unknown as Services['uploads'] },
    env: {
      SLACK_MODE: 'http',
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      OPERATORS: 'U0OPERATOR',
      CHECKPOINTS_BASE_DIR: env.checkpointsBaseDir,
      HF_ORG: 'org',
    },
  });
  bot = slackBotFor(deps, { port: 0 });
  url = `http://127.0.0.1:${(await bot.start()).port}/slack/events`;
});
afterAll(async () => {
  await bot?.stop();
  await fake?.stop();
  redis.disconnect();
  await env?.close();
});

describe('/ckpt upload when the progress message is refused', () => {
  it('queues the uploads and says they go ahead', async () => {
    const responseUrl = fake.responseUrl();
    const body = slashCommandBody({
      command: '/ckpt',
      text: 'upload exp-r --all',
      user_id: 'U0OPERATOR',
      channel_id: 'C0TEAM',
      response_url: responseUrl,
    });
    const res = await fetch(url, { method: 'POST', headers: signedHeaders(SECRET, body), body });
    expect(res.status).toBe(200);
    const id = responseUrl.split('/').at(-1);
    const r = await fake.waitFor(() => fake.responses.find((x) => x.id === id), 20_000, 'the reply');
    const text = JSON.stringify(r.body.blocks);
    expect(text).not.toMatch(/Something went wrong/);
    expect(text).toContain('Queued 3 uploads of `exp-r` to org: steps 100, 200, 300.');
    expect(text).toContain('The uploads go ahead, but the progress message could not be posted');
    expect(text).toContain('/ckpt status exp-r');
    expect(await env.service.queue.getJobCounts('waiting', 'delayed', 'prioritized')).toSatisfy(
      (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0) === 3,
    );
  });
});
