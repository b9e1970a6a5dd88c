#!/usr/bin/env node
// `lcm`, the operators' inspector (infra/cli/lcm.ts), run one of two ways:
//  - in a checkout with its dev dependencies, the TypeScript itself through tsx, so an edit counts
//    at once (no stale build);
//  - otherwise (`npm ci --omit=dev`, where tsx is absent), dist/lcm.js: the esbuild bundle that
//    `npm ci` builds (the `prepare` script, `npm run build:cli`), run by plain Node.
// LCM_BUNDLE=1 runs the bundle even where tsx is installed.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// The SDK warns on every run that Node 20 support ends in 2027; the engines field already says
// which Node the project needs, and the warning would drown the one line an operator asked for.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function tsxRegister() {
  try {
    return require('tsx/cjs/api').register;
  } catch {
    return undefined;
  }
}

function load() {
  const register = process.env.LCM_BUNDLE === '1' ? undefined : tsxRegister();
  if (register) {
    register();
    return require('../infra/cli/lcm.ts');
  }
  const bundle = join(__dirname, '..', 'dist', 'lcm.js');
  if (!existsSync(bundle)) {
    process.stderr.write(
      'lcm: dist/lcm.js is missing: build it with `npm run build:cli` (npm ci does, unless run with --ignore-scripts).\n',
    );
    process.exit(1);
  }
  return require(bundle);
}

load()
  .run(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`lcm: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
