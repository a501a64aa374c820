import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// The one place the product gets zod from: zod/mini, the functional API (`z.optional(s)`,
// `s.check(z.minLength(1))`), of which a bundle keeps only what is used. Import it as
// `import * as z from '../zod.js'`.
//
// zod/mini sets no error locale (classic zod sets English), so every message without one of our own would
// read "Invalid input". The bot's replies quote zod's English messages: set them here, before any schema
// parses (every schema is built from this module, so it has run by then).
config(en());

export * from 'zod/mini';
