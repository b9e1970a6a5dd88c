/**
 * `npm run bench`: what one webhook delivery costs, next to the floor (HMAC-SHA256 + JSON.parse of
 * the same bytes), and what each function ships (bundle size, module init time).
 * Figures are medians of several rounds; compare ratios, as these machines are noisy.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { buildSync } from 'esbuild';
import { batchBodies, serializeJob } from '../../shared/aws/sqs-queue';
import { receiveWebhook } from '../../shared/webhook/receive';
import { lambdaContext, optinItem, PAGE_ID, signedPost, webhookBody } from '../helpers/factories';
import { writeSecretsFile } from '../helpers/secrets-file';

const ROOT = join(__dirname, '..', '..');
const ROUNDS = 9;
const APP_SECRET = 'test-app-secret';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Median microseconds per call of `fn` over ROUNDS rounds of `iterations` calls. */
async function measure(
  fn: () => unknown | Promise<unknown>,
  iterations: number,
  between?: () => void,
): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 500); i += 1) await fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    between?.();
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) await fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  return median(rounds);
}

const fmt = (us: number) => `${us.toFixed(1).padStart(8)} µs`;

async function webhookCosts(): Promise<void> {
  process.env.QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs';
  process.env.LCM_SECRETS_FILE = writeSecretsFile();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const sqs = mockClient(SQSClient);
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
  }));
  const { handler } =
    require('../../functions/webhook') as typeof import('../../functions/webhook');
  const context: Context = lambdaContext('webhook');

  const cases: Array<[string, string]> = [
    ['1 opt-in', JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'a1b2c3' })] }]))],
    [
      '3 entries × 10 opt-ins',
      JSON.stringify(
        webhookBody(
          [0, 1, 2].map((e) => ({
            pageId: PAGE_ID,
            messaging: Array.from({ length: 10 }, (_, i) =>
              optinItem({ loginId: `login-${e}-${i}-${'x'.repeat(40)}` }),
            ),
          })),
        ),
      ),
    ],
  ];

  console.log('\nWebhook: per-request cost (median of %d rounds)', ROUNDS);
  console.log(
    '  body                      bytes    HMAC+parse   signature+parse+jobs+batches   full handler (SQS stubbed)',
  );
  for (const [name, raw] of cases) {
    const bytes = Buffer.from(raw);
    const iterations = bytes.length > 2000 ? 2000 : 10_000;
    const floor = await measure(() => {
      createHmac('sha256', APP_SECRET).update(bytes).digest();
      return JSON.parse(bytes.toString('utf8'));
    }, iterations);
    const header = signedPost(raw).headers['x-hub-signature-256'];
    const domain = await measure(() => {
      const result = receiveWebhook(
        { rawBody: bytes, signature: header, receivedAt: Date.now() },
        APP_SECRET,
      );
      if (result.statusCode !== 200) throw new Error('bench body refused');
      return batchBodies(result.jobs.map(serializeJob));
    }, iterations);
    const event: APIGatewayProxyEventV2 = signedPost(raw);
    const full = await measure(
      async () => {
        const response = await handler(event, context);
        if (response.statusCode !== 200) throw new Error(`handler answered ${response.statusCode}`);
      },
      Math.floor(iterations / 4),
      () => sqs.resetHistory(),
    );
    console.log(
      `  ${name.padEnd(22)} ${String(bytes.length).padStart(7)} ${fmt(floor)} ${fmt(domain)} (×${(domain / floor).toFixed(1)})               ${fmt(full)} (×${(full / floor).toFixed(1)})`,
    );
  }

  // The stub keeps a history of calls; clear it so only the handler's own memory is counted.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const event = signedPost(cases[1]?.[1] ?? '');
  sqs.resetHistory();
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < 5000; i += 1) {
    await handler(event, context);
    sqs.resetHistory();
  }
  gc();
  const after = process.memoryUsage();
  console.log(
    `  memory after 5,000 more 30-event requests: rss ${(after.rss / 2 ** 20).toFixed(0)} MiB (Δ ${((after.rss - before.rss) / 2 ** 20).toFixed(1)}), heap used ${(after.heapUsed / 2 ** 20).toFixed(0)} MiB (Δ ${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)})`,
  );
  sqs.restore();
}

/** Bundles as the stack does (minified, source maps, SDK included) and, for comparison, without the SDK. */
function bundles(): void {
  const out = mkdtempSync(join(tmpdir(), 'lcm-bench-'));
  const externalDir = join(ROOT, 'node_modules', '.cache', 'lcm-bench');
  mkdirSync(externalDir, { recursive: true });
  console.log('\nBundles (esbuild, minified, node22; sizes without the .map)');
  console.log(
    '  function   SDK bundled (shipped)        SDK external (runtime SDK)   module init, bundled / external (median of 5 fresh processes): wall time; CPU time',
  );
  for (const name of ['webhook', 'sender', 'api', 'sweeper']) {
    const sizes: string[] = [];
    const inits: Array<{ wallMs: number; cpuMs: number }> = [];
    for (const external of [false, true]) {
      // The SDK-external bundle must find @aws-sdk in node_modules, as Lambda's runtime provides it.
      const outfile = external ? join(externalDir, `${name}-ext.js`) : join(out, `${name}-all.js`);
      buildSync({
        entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
        bundle: true,
        minify: true,
        sourcemap: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        outfile,
        external: external ? ['@aws-sdk/*'] : [],
        // As the stack bundles (`LcmFunction`): the ES module builds first, tree-shaken.
        mainFields: ['module', 'main'],
        define:
          name === 'sender'
            ? {
                'process.env.FIRST_MESSAGES_JSON': JSON.stringify(
                  readFileSync(join(ROOT, 'infra', 'first-messages.json'), 'utf8'),
                ),
              }
            : {},
        logLevel: 'error',
      });
      const size = statSync(outfile).size;
      const gz = gzipSync(readFileSync(outfile)).length;
      sizes.push(`${(size / 1024).toFixed(0).padStart(5)} KiB (${(gz / 1024).toFixed(0)} KiB gz)`);
      inits.push(moduleInitMs(outfile));
    }
    console.log(
      `  ${name.padEnd(9)}  ${sizes[0]?.padEnd(28)} ${sizes[1]?.padEnd(28)} ${inits.map((t) => `${t.wallMs.toFixed(0)} ms`).join(' / ')}; ${inits.map((t) => `${t.cpuMs.toFixed(0)} ms`).join(' / ')}`,
    );
  }
}

/**
 * Loads a bundle in a fresh Node process, as a cold start does, and times the require: wall time,
 * and the CPU time the process spent on it (user + system), which a busy machine disturbs far less.
 */
function moduleInitMs(bundle: string): { wallMs: number; cpuMs: number } {
  const secret = writeSecretsFile();
  const probe = join(mkdtempSync(join(tmpdir(), 'lcm-init-')), 'probe.js');
  writeFileSync(
    probe,
    `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(bundle)});const w=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);process.stdout.write(JSON.stringify([w,(u.user+u.system)/1000]));`,
  );
  const env = {
    ...process.env,
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q',
    TABLE_NAME: 't',
    LCM_SECRETS_FILE: secret,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // As in Lambda: Tracer (and the X-Ray SDK) load only where they would trace (shared/tracing.ts).
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  };
  const runs = Array.from(
    { length: 5 },
    () =>
      JSON.parse(execFileSync(process.execPath, ['--no-warnings', probe], { env }).toString()) as [
        number,
        number,
      ],
  );
  return { wallMs: median(runs.map((r) => r[0])), cpuMs: median(runs.map((r) => r[1])) };
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${process.arch}; ${new Date().toISOString()}`);
  await webhookCosts();
  bundles();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
