import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// npm run bench -- <name> [args…]: runs bench/<name>.ts (its default export, or its top level if it has
// none). Each benchmark ends by printing one `RESULT {json}` line.

const here = dirname(fileURLToPath(import.meta.url));

async function available(): Promise<string[]> {
  return (await readdir(here))
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const names = await available();
  if (!name || !names.includes(name)) {
    const what = name ? `unknown benchmark "${name}"` : 'no benchmark named';
    console.error(`${what}\nusage: npm run bench -- <name>\navailable: ${names.join(', ') || '(none)'}`);
    return 2;
  }
  const mod: { default?: unknown } = await import(pathToFileURL(join(here, `${name}.ts`)).href);
  if (typeof mod.default === 'function') await mod.default(args);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  },
);
