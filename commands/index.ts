import { ckptCommand } from './ckpt/ckpt-command.js';
import type { Command } from './core/command.js';
import { Registry } from './core/registry.js';
import { digestCommand } from './digest/digest-command.js';
import { trainCommand } from './train/train-command.js';

// Every slash command the bot serves. manifest.yml must list the same ones (test/unit/commands/manifest.test.ts).
export const commands: readonly Command[] = [trainCommand, ckptCommand, digestCommand];

export function createRegistry(list: readonly Command[] = commands): Registry {
  return new Registry(list);
}
