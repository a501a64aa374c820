import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { commands } from '../commands/index.js';

// npx tsx scripts/manifest.ts: rewrite manifest.yml's slash commands from the registry (names, summaries,
// usage hints); everything else in the file, comments included, stays as it is.

const file = new URL('../manifest.yml', import.meta.url);
const doc = parseDocument(await readFile(file, 'utf8'));
doc.setIn(
  ['features', 'slash_commands'],
  doc.createNode(
    commands.map((c) => ({
      command: `/${c.name}`,
      description: c.summary,
      usage_hint: c.usageHint,
      should_escape: false,
    })),
  ),
);
await writeFile(file, doc.toString({ lineWidth: 110 }));
console.log(`manifest.yml: ${commands.map((c) => `/${c.name}`).join(', ')}`);
