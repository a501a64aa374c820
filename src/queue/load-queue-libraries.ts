import { createRequire } from 'node:module';
import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';

// BullMQ and ioredis (with msgpackr, cron-parser and the rest: ~30 MB and ~100 ms at start) load when a
// process first makes a queue or a Redis connection, not when it imports the rooms that could: a CLI
// command that only reads the cluster never needs them. Both packages are CommonJS, so require() gives
// the very module an `import` would (the same classes for instanceof), synchronously, so the queue
// room's API stays synchronous.

const require = createRequire(import.meta.url);

// require() keeps each module once: later calls are a cache lookup.
export const bullmq = (): typeof BullMQ => require('bullmq') as typeof BullMQ;
export const redisLibrary = (): typeof IORedis => require('ioredis') as typeof IORedis;
