import { demoMain } from '../src/main.js';

// `npm run demo [-- --tour]`: the product on its built-in local default (src/app/demo.ts).
demoMain({
  argv: process.argv.slice(2),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `[demo] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
