#!/usr/bin/env node
// `npm run build`, after tsc: the programs the bot runs on the cluster are files read at run time
// (src/cluster/remote-script.ts loads them beside the compiled module), so they go into dist/ as they are.
import { cpSync } from 'node:fs';

const from = new URL('../src/cluster/remote/', import.meta.url);
const to = new URL('../dist/src/cluster/remote/', import.meta.url);
cpSync(from, to, { recursive: true });
