import { ckpt } from './ckpt/ckpt.js';
import type { Command } from './core/command.js';
import { Registry } from './core/registry.js';
import { digest } from './digest/digest.js';
import { train } from './train/train.js';

// Every slash command the bot serves. manifest.yml must list the same ones (test/unit/manifest.test.ts).
export const commands: readonly Command[] = [train, ckpt, digest];

export function createRegistry(list: readonly Command[] = commands): Registry {
  return new Registry(list);
}
