import { describe, expect, it } from 'vitest';
import { commands } from '../../../commands/index.js';

// A subcommand's spec (the words it takes) is listed apart from its schema (what validates them): a word
// the schema did not name would be dropped without a word to the user. Every spec and schema must agree.

describe('every subcommand spec and its implementation', () => {
  it('name the same arguments, and every listed subcommand and button loads', async () => {
    for (const c of commands) {
      for (const s of c.subcommands) {
        const impl = await s.load();
        const shape = (impl.args as { shape?: Record<string, unknown> }).shape;
        expect(shape, `/${c.name} ${s.name}: its schema is an object`).toBeDefined();
        const words = [
          ...(s.positionals ?? []).map((p) => p.replace(/\.\.\.$/, '')),
          ...Object.keys(s.flags ?? {}),
        ];
        for (const w of words) expect(Object.keys(shape ?? {}), `/${c.name} ${s.name}`).toContain(w);
      }
      for (const a of c.actions ?? []) {
        const impl = await a.load();
        expect(typeof impl.value.safeParse, a.id).toBe('function');
      }
    }
  });
});
