import { createHash } from 'node:crypto';
import type { App, RespondFn } from '@slack/bolt';
import type { Invoker } from '../../commands/core/dispatch.js';
import { type DispatchDeps, dispatchAction, dispatchText } from '../../commands/core/dispatch.js';
import type { Logger } from '../logger.js';
import { timed } from '../metrics.js';
import type { Reply } from '../reply.js';
import { type ActionDedupe, memoryActionDedupe } from './action-dedupe.js';
import { ACTION_SUFFIX, renderBlocks } from './render-blocks.js';
import { SlackMessenger } from './slack-messenger.js';

/** Slack's `&`, `<`, `>` arrive HTML-escaped in command text; users meant the characters. */
export function decodeSlackText(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** One listener per slash command: ack at once, dispatch, answer through response_url (and its chart). */
export function registerCommands(app: App, deps: DispatchDeps, messenger: SlackMessenger, log: Logger): void {
  const deliver = async (respond: RespondFn, channel: string | undefined, user: string, reply: Reply) => {
    const prepared = await messenger.prepare(reply);
    // A reply with attachments (a chart, a full table) is posted in the channel, so they go in its thread;
    // response_url gives no message ts to thread under.
    const msg = renderBlocks(prepared);
    if (!reply.ephemeral && channel && (reply.chart || msg.files.length > 0)) {
      if ((await messenger.reach(channel)).ok) {
        try {
          await messenger.postHere({ channel }, prepared);
          return;
        } catch (err) {
          log.warn(
            { err: String(err), channel },
            'could not post the reply in the channel; answering via response_url',
          );
        }
      }
    }
    const attachable = msg.files.length === 0 && !reply.chart;
    const shown = attachable
      ? msg
      : renderBlocks(
          {
            ...prepared,
            context: [
              ...(prepared.context ?? []),
              'Attachments cannot be shown here: invite @chatops to this channel (`/invite @chatops`).',
            ],
          },
          { attach: false },
        );
    await respond({
      response_type: reply.ephemeral ? 'ephemeral' : 'in_channel',
      text: shown.text,
      blocks: shown.blocks as never,
    });
    // An ephemeral answer's attachments go to the user's DM.
    if (reply.ephemeral && msg.files.length > 0)
      await messenger.post({ channel: user, notify: user }, { text: 'The full answer:', files: msg.files });
  };

  for (const command of deps.registry.commands) {
    app.command(`/${command.name}`, async ({ command: body, ack, respond }) => {
      // Ack first, before anything that can wait: Slack gives up after 3 s.
      const acked = timed(deps.metrics?.ackLatency, 'command', ack());
      const inv: Invoker = {
        user: { id: body.user_id, ...(body.user_name ? { name: body.user_name } : {}) },
        ...(body.channel_id ? { channel: body.channel_id } : {}),
        source: 'slack',
      };
      await acked;
      const reply = await dispatchText(deps, inv, command.name, decodeSlackText(body.text ?? ''));
      try {
        await deliver(respond, body.channel_id, body.user_id, reply);
      } catch (err) {
        log.error({ err, command: command.name, user: body.user_id }, 'could not deliver the reply to Slack');
      }
    });
  }
}

/** How long a handled click is remembered: a double click, or Slack redelivering it, within this runs once. */
const CLICK_MEMORY_MS = 15 * 60_000;

/**
 * One listener per button action. A double click (or Slack retrying, or the same click reaching two
 * replicas) must not run a destructive action twice: a click seen in the last 15 minutes on the same
 * message, action and value is answered, not run. `dedupe` is shared by every replica (Redis) in the bot.
 */
export function registerActions(
  app: App,
  deps: DispatchDeps,
  log: Logger,
  dedupe: ActionDedupe = memoryActionDedupe(),
): void {
  // The Slack messenger keeps the payloads too long for a button value (slack-messenger.ts).
  const m = deps.services.messenger;
  const resolveValue = (v: string) => (m instanceof SlackMessenger ? m.resolveValue(v) : Promise.resolve(v));
  for (const actionId of deps.registry.actionIds) {
    // A repeated action id in one message carries a suffix (render-blocks.ts): the same action.
    const id = new RegExp(`^${escapeRegExp(actionId)}(${ACTION_SUFFIX}\\d+)?$`);
    app.action(id, async ({ ack, body, action, respond }) => {
      await timed(deps.metrics?.ackLatency, 'action', ack());
      if (body.type !== 'block_actions' || action.type !== 'button') return;
      const messageTs = body.container?.message_ts ?? body.message?.ts ?? '';
      const value = await resolveValue(action.value ?? '');
      if (value === null) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: 'This button has expired (its request is kept for 7 days): run the command again.',
        });
        return;
      }
      const key = createHash('sha256')
        .update(`${body.channel?.id ?? ''}|${messageTs}|${actionId}|${value}`)
        .digest('hex');
      let first: boolean;
      try {
        first = await dedupe.claim(key, CLICK_MEMORY_MS);
      } catch (err) {
        // Without the shared memory a second replica might run the same click: run nothing.
        log.error({ err, actionId }, 'could not record the click (Redis); nothing was run');
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: 'The bot cannot reach its Redis right now, so nothing was run. Click again in a moment.',
        }).catch(() => {});
        return;
      }
      if (!first) {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          text: 'Already handled — one click is enough.',
        });
        return;
      }
      const reply = await dispatchAction(deps, clicker(body), actionId, value);
      const msg = renderBlocks(reply);
      try {
        // A refusal or invalid value leaves the buttons for someone who may click; anything else replaces them.
        await respond(
          reply.level === 'error'
            ? {
                response_type: 'ephemeral',
                replace_original: false,
                text: msg.text,
                blocks: msg.blocks as never,
              }
            : { replace_original: true, text: msg.text, blocks: msg.blocks as never },
        );
        if (reply.level === 'error')
          await dedupe
            .release(key)
            .catch((err: unknown) => log.warn({ err, actionId }, 'could not forget a click'));
      } catch (err) {
        log.error({ err, actionId }, 'could not deliver the action result to Slack');
      }
    });
  }
  // A button this bot never made (a forged payload, another app's, one from a removed command): Bolt would
  // leave it unacknowledged (Slack shows the click failed) and log an error. Answer it, audited, instead.
  const known = deps.registry.actionIds.map(escapeRegExp).join('|');
  const unknown = new RegExp(`^(?!(?:${known})(?:${ACTION_SUFFIX}\\d+)?$)`);
  app.action(unknown, async ({ ack, body, action, respond }) => {
    await timed(deps.metrics?.ackLatency, 'action', ack());
    if (body.type !== 'block_actions') return;
    const actionId = 'action_id' in action ? String(action.action_id) : '';
    const reply = await dispatchAction(
      deps,
      clicker(body),
      actionId,
      'value' in action ? String(action.value ?? '') : '',
    );
    await respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: renderBlocks(reply).text,
    }).catch((err: unknown) => log.error({ err, actionId }, 'could not deliver the action result to Slack'));
  });
}

/** Who clicked a button, and where. */
function clicker(body: {
  user: { id: string; name?: string };
  channel?: { id?: string } | undefined;
}): Invoker {
  return {
    user: { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) },
    ...(body.channel?.id ? { channel: body.channel.id } : {}),
    source: 'slack',
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
