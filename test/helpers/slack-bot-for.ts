import type { DispatchDeps } from '../../commands/core/dispatch.js';
import { createSlackMessenger } from '../../src/slack/create-slack-messenger.js';
import { createSlackBot, type SlackBot, type SlackBotOptions } from '../../src/slack/slack-bot.js';

/** The bot as src/main.ts composes it: one Slack messenger, given to the services and to the bot. */
export function slackBotFor(
  deps: DispatchDeps,
  opts: Pick<SlackBotOptions, 'port' | 'socket'> = {},
): SlackBot {
  const messenger = createSlackMessenger(deps.config, deps.log);
  return createSlackBot({
    config: deps.config,
    log: deps.log,
    messenger,
    deps: { ...deps, services: { ...deps.services, messenger } },
    ...opts,
  });
}
