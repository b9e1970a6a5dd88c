/**
 * zod's tree-shakable build (`zod/mini`), with the English messages its full build loads itself.
 * Every schema under `shared/` uses it: the webhook's (`messages.ts`, `secrets.ts`), the sender's
 * first-message templates, the API's request bodies, and the settings `cdk synth` reads. Through
 * the full build, zod would be about 445 KiB of each function's bundle and much of its cold start
 * (README, "The webhook and the bundles"). Import it as `import * as z from './zod'` (a namespace
 * import is what lets esbuild leave out what is not used), never `zod` itself.
 *
 * The functional forms give the same checks, messages and issue paths as the full build's
 * methods: `z.optional(s)` for `s.optional()`, `s.check(z.minLength(n), z.refine(...))` for
 * `s.min(n).refine(...)`, `z._default(s, v)`, `z.prefault(s, v)`, `z.pipe(a, b)`.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
