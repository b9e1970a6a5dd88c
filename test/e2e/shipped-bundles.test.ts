import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundlesOf } from '../../infra/local/handler-modules';
import { PAGE_ID } from '../helpers/factories';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * The code `cdk deploy` ships, end to end: the esbuild bundles of `cdk synth` (not the TypeScript
 * sources through tsx), each in its own worker thread on plain Node 22, against the emulators.
 * `LCM_CDK_OUT` reuses a cloud assembly already synthesized from this checkout (CI does, see
 * `.ci/run`); otherwise the test synthesizes one, offline, with the repo's `cdk.json` and
 * `infra/first-messages.json`.
 */
const ROOT = resolve(__dirname, '..', '..');
const FIRST_MESSAGES = JSON.parse(
  readFileSync(join(ROOT, 'infra', 'first-messages.json'), 'utf8'),
) as { default: { message: { text: string } } };

const ownCdkOut = !process.env.LCM_CDK_OUT;
let cdkOut = '';

function synthesize(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-cdk-out-'));
  const env = { ...process.env };
  for (const name of [
    'AWS_PROFILE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ])
    delete env[name];
  const synth = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
      'synth',
      '--quiet',
      '--no-notices',
      '-o',
      dir,
    ],
    { cwd: ROOT, env, encoding: 'utf8' },
  );
  if (synth.status !== 0)
    throw new Error(`cdk synth failed (${synth.status}):\n${synth.stdout}\n${synth.stderr}`);
  return dir;
}

/** The environment the cloud assembly gives function `fn`, with placeholders for its references. */
function functionEnvironment(fn: string): Record<string, string> {
  for (const file of readdirSync(cdkOut).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(cdkOut, file), 'utf8')) as {
      Resources: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, unknown>;
          Properties?: { Environment?: { Variables?: Record<string, unknown> } };
        }
      >;
    };
    for (const resource of Object.values(template.Resources)) {
      const path = String(resource.Metadata?.['aws:cdk:path'] ?? '');
      if (
        resource.Type !== 'AWS::Lambda::Function' ||
        !path.toLowerCase().includes(`/${fn.replace('-', '')}/`)
      )
        continue;
      const variables = resource.Properties?.Environment?.Variables ?? {};
      return {
        ...Object.fromEntries(
          Object.entries(variables).map(([name, value]) => [
            name,
            typeof value === 'string' ? value : `placeholder-${name.toLowerCase()}`,
          ]),
        ),
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: fn,
      };
    }
  }
  throw new Error(`no function ${fn} in ${cdkOut}`);
}

const newLoginId = () => randomBytes(32).toString('hex');
const optinBody = (loginId: string) =>
  JSON.stringify({
    object: 'page',
    entry: [
      {
        id: PAGE_ID,
        time: Date.now(),
        messaging: [
          { recipient: { id: PAGE_ID }, timestamp: Date.now(), optin: { login_id: loginId } },
        ],
      },
    ],
  });
const ended = (loginId: string) =>
  eventually(
    async () => {
      const record = await stack.optinRecord(loginId);
      return record && record.status !== 'queued' && record.status !== 'sending'
        ? record
        : undefined;
    },
    20_000,
    `login_id ${loginId.slice(0, 8)} to end`,
  );

const stack = useLocalStack({
  // The cloud assembly first, within the same 150 s as the start.
  env: () => {
    cdkOut = process.env.LCM_CDK_OUT ? resolve(ROOT, process.env.LCM_CDK_OUT) : synthesize();
    return { LCM_HANDLERS: 'bundles', LCM_CDK_OUT: cdkOut, SENDER_TIMEOUT_SECONDS: '10' };
  },
  timeoutMs: 150_000,
});
// After the stack's own afterAll (jest runs them in order): the stack no longer runs the bundles.
afterAll(() => {
  if (ownCdkOut && cdkOut) rmSync(cdkOut, { recursive: true, force: true });
});

describe('the synthesized bundles, end to end', () => {
  it('runs every function from its bundle in the cloud assembly', () => {
    const bundles = bundlesOf(cdkOut);

    expect(stack.output()).toContain(`functions: the bundles of ${cdkOut}`);
    for (const file of Object.values(bundles))
      expect(file).toMatch(/\/asset\.[0-9a-f]{64}\/index\.js$/);
  });

  it('loads X-Ray (Powertools Tracer) at init in Lambda, and not where tracing is off', () => {
    // `shared/tracing.ts` requires Tracer only where it would trace: a require esbuild failed to
    // bundle would crash every traced function's init in AWS, and nothing else here runs them so.
    const loaded = (file: string, env: NodeJS.ProcessEnv) => {
      const run = spawnSync(
        process.execPath,
        [
          '-e',
          `const m = require(${JSON.stringify(file)}); console.log(JSON.stringify([typeof m.handler, process.env.AWS_XRAY_CONTEXT_MISSING ?? null]))`,
        ],
        { cwd: ROOT, env, encoding: 'utf8' },
      );
      if (run.status !== 0) throw new Error(`${file} failed to load:\n${run.stderr}`);
      return JSON.parse(run.stdout) as [string, string | null];
    };
    for (const [fn, file] of Object.entries(bundlesOf(cdkOut))) {
      const env = { ...functionEnvironment(fn), PATH: process.env.PATH ?? '' };
      const traced = fn !== 'webhook';

      expect([fn, loaded(file, { ...env, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' })]).toEqual([
        fn,
        ['function', traced ? 'IGNORE_ERROR' : null],
      ]);
      expect([fn, loaded(file, env)]).toEqual([fn, ['function', null]]);
    }
  });

  it('sends exactly one first message, with the templates inlined at synth, for a signed opt-in', async () => {
    const loginId = newLoginId();
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });

    const response = await stack.postWebhook(optinBody(loginId));
    const record = await ended(loginId);
    await new Promise((r) => setTimeout(r, 1000));

    expect(response.status).toBe(200);
    expect(record).toMatchObject({ status: 'sent', pageId: PAGE_ID, attempts: 1 });
    const messages = await stack.emulator<Array<{ message: { text?: string } }>>(
      `messages?loginId=${loginId}`,
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]?.message.text).toBe(FIRST_MESSAGES.default.message.text);
  });

  it('records an opt-out through the API and then sends nothing to that person', async () => {
    const loginId = newLoginId();
    const optout = await fetch(`${stack.info.apiUrl}/optouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.info.apiKey}` },
      body: JSON.stringify({ loginId, reason: 'asked by email' }),
    });
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });

    await stack.postWebhook(optinBody(loginId));
    const record = await ended(loginId);

    expect(optout.status).toBe(200);
    expect(record).toMatchObject({
      status: 'opted_out',
      statusReason: 'suppressed:asked by email',
    });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toEqual([]);
  });
});
