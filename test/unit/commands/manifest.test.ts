import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { commands } from '../../../commands/index.js';

const Manifest = z.object({
  display_information: z.object({ name: z.string().min(1).max(35), description: z.string().max(140) }),
  features: z.object({
    bot_user: z.object({ display_name: z.string().min(1).max(80) }),
    slash_commands: z.array(
      z.object({
        command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/),
        description: z.string().min(1).max(2000),
        usage_hint: z.string().max(1000).optional(),
        should_escape: z.boolean(),
      }),
    ),
  }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()) }) }),
  settings: z.object({
    interactivity: z.object({ is_enabled: z.literal(true) }),
    socket_mode_enabled: z.literal(true),
  }),
});

describe('manifest.yml', () => {
  it('is a valid manifest whose slash commands are exactly the registry', async () => {
    const m = Manifest.parse(
      parse(await readFile(new URL('../../../manifest.yml', import.meta.url), 'utf8')),
    );
    const inManifest = m.features.slash_commands.map((c) => ({
      command: c.command,
      description: c.description,
      usage_hint: c.usage_hint,
    }));
    const inRegistry = commands.map((c) => ({
      command: `/${c.name}`,
      description: c.summary,
      usage_hint: c.usageHint,
    }));
    // When this fails after changing a command's summary or usageHint: npx tsx scripts/manifest.ts
    expect(inManifest).toEqual(inRegistry);
    // Public channels without an invite, joining before background work, the submitter's DM as the
    // fallback, attachments (README.md, "Channels and attachments").
    expect([...m.oauth_config.scopes.bot].sort()).toEqual(
      ['channels:join', 'chat:write', 'chat:write.public', 'commands', 'files:write', 'im:write'].sort(),
    );
    // Slack would HTML-escape & < > in the text we tokenise and turn mentions into <@U…> ids.
    expect(m.features.slash_commands.every((c) => c.should_escape === false)).toBe(true);
  });
});
