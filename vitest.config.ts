import { defineConfig } from 'vitest/config';

// CI (and anyone who sets CI=true) also gets a JSON report that .ci/run turns into the closing count line.
const reporters = process.env.CI ? ['default', 'json'] : ['default'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/testbed/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters,
    outputFile: { json: '.tmp/vitest-report.json' },
  },
});
