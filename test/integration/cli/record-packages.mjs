// `node --import <this file> …`: appends the name of every npm package the process loads to the file
// named by RECORD_PACKAGES, one a line, so a test can see what a command pulled in.
import { register } from 'node:module';

register('./record-packages-hook.mjs', import.meta.url);
