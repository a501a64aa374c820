import { ckpt } from './ckpt.js';
import type { Command } from './command.js';
import { digest } from './digest.js';
import { Registry } from './registry.js';
import { train } from './train.js';

// Every slash command the bot serves. manifest.yml must list the same ones (test/unit/manifest.test.ts).
export const commands: readonly Command[] = [train, ckpt, digest];

export function createRegistry(list: readonly Command[] = commands): Registry {
  return new Registry(list);
}
