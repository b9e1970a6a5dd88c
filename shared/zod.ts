/**
 * zod's tree-shakable build (`zod/mini`), with the English messages its full build loads itself.
 * The webhook bundles the schemas of `messages.ts` and `secrets.ts`: through the full build, zod
 * would be most of its bundle and its cold start. Import it as `import * as z from './zod'` (a
 * namespace import is what lets esbuild leave out what is not used).
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
