import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startTestbed, type TestbedInfo } from '../../src/sandbox/testbed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestbedInfo;
  }
}

/** One testbed (Redis, sshd, Slurm) per `vitest run`; tests read it with `inject('testbed')`. */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const tb = await startTestbed();
  console.error(`[testbed] up in ${Date.now() - started} ms at ${tb.info.dir}`);
  project.provide('testbed', tb.info);
  return async () => {
    await tb.stop();
  };
}
