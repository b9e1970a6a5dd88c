#!/usr/bin/env node
// `lcm`, the operators' inspector (infra/cli/lcm.ts). The CLI is TypeScript run in place: tsx
// compiles it on load, so `npx lcm` works in a checkout after `npm ci`, with no build step.
const { register } = require('tsx/cjs/api');

// The SDK warns on every run that Node 20 support ends in 2027; the engines field already says
// which Node the project needs, and the warning would drown the one line an operator asked for.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { run } = require('../infra/cli/lcm.ts');

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`lcm: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
