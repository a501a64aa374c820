import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Config } from '../../../src/config.js';

describe('.env.example', () => {
  it('documents every setting of src/config.ts, and nothing else', async () => {
    const text = await readFile(new URL('../../../.env.example', import.meta.url), 'utf8');
    const documented = [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(Config.shape).sort());
  });
});
