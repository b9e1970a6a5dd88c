/**
 * `npm run bench:e2e`: opt-ins through the whole local stack (DynamoDB Local, fauxqs, the Graph
 * emulator, the real handlers). Reports throughput, opt-in→send latency and the DynamoDB and SQS
 * requests each opt-in costs. Emulators are not AWS: read the latencies as relative figures, the
 * request counts as exact.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../infra/local/dynamodb-local';
import { type LocalStack, optionsFromEnv, startLocalStack } from '../../infra/local/stack';
import { signatureFor } from '../../shared/webhook/signature';
import { PAGE_ID, secretDocument } from '../helpers/factories';
import { writeSecretsFile } from '../helpers/secrets-file';
import { reportHappyPathCost, settle } from './cost';

const N = Number(process.env.BENCH_OPTINS ?? 500);
const PER_WEBHOOK = 10;
const POST_CONCURRENCY = 8;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
    Number.NaN
  );
};

interface Message {
  recipient: { login_id?: string };
  at: string;
}

async function control(stack: LocalStack, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stack.info.graphEmulatorUrl}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return response.json();
}

/**
 * Posts `count` opt-ins, `perWebhook` to a webhook, each webhook delivered `copies` times; as fast as
 * possible, or at `ratePerSecond` webhooks a second.
 */
async function run(
  stack: LocalStack,
  count: number,
  copies: number,
  perWebhook = PER_WEBHOOK,
  ratePerSecond?: number,
): Promise<{ seconds: number; latencies: number[]; loginIds: string[] }> {
  const loginIds = Array.from({ length: count }, () => randomBytes(32).toString('hex'));
  for (const loginId of loginIds) await control(stack, 'optins', { loginId, pageId: PAGE_ID });
  const optinAt = new Map<string, number>();
  const bodies: Array<{ ids: string[]; at: number }> = [];
  for (let i = 0; i < count; i += perWebhook)
    bodies.push({ ids: loginIds.slice(i, i + perWebhook), at: 0 });
  const queue = bodies.flatMap((b) => Array.from({ length: copies }, () => b));
  const started = Date.now();
  let posted = 0;
  await Promise.all(
    Array.from({ length: ratePerSecond ? 1 : POST_CONCURRENCY }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (ratePerSecond) {
          const due = started + (posted * 1000) / ratePerSecond;
          posted += 1;
          if (due > Date.now())
            await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        }
        const timestamp = Date.now();
        for (const id of next.ids) if (!optinAt.has(id)) optinAt.set(id, timestamp);
        const raw = JSON.stringify({
          object: 'page',
          entry: [
            {
              id: PAGE_ID,
              time: timestamp,
              messaging: next.ids.map((id) => ({
                recipient: { id: PAGE_ID },
                timestamp,
                optin: { login_id: id },
              })),
            },
          ],
        });
        const response = await fetch(stack.info.webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signatureFor(raw, stack.info.appSecret),
          },
          body: raw,
        });
        if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      }
    }),
  );
  const wanted = new Set(loginIds);
  let sent: Message[] = [];
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    sent = ((await control(stack, 'messages')) as Message[]).filter(
      (m) => m.recipient.login_id && wanted.has(m.recipient.login_id),
    );
    if (sent.length >= count) break;
    // Not too often: the emulator shares the CPU with everything being measured.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const seconds = (Math.max(...sent.map((m) => Date.parse(m.at))) - started) / 1000;
  if (sent.length !== count)
    throw new Error(`${sent.length} of ${count} opt-ins got a message (expected exactly one each)`);
  const latencies = sent.map(
    (m) => Date.parse(m.at) - (optinAt.get(m.recipient.login_id ?? '') ?? 0),
  );
  return { seconds, latencies, loginIds };
}

function report(
  name: string,
  count: number,
  result: { seconds: number; latencies: number[] },
  counts: Record<string, number>,
) {
  console.log(`\n${name}`);
  console.log(
    `  ${count} opt-ins in ${result.seconds.toFixed(2)} s: ${(count / result.seconds).toFixed(0)} opt-ins/s`,
  );
  console.log(
    `  opt-in → send: p50 ${percentile(result.latencies, 50)} ms, p99 ${percentile(result.latencies, 99)} ms`,
  );
  console.log('  requests per opt-in:');
  for (const [op, n] of Object.entries(counts).sort())
    console.log(`    ${op.padEnd(34)} ${(n / count).toFixed(2)}`);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lcm-bench-e2e-'));
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const [port, dynamodbPort, sqsPort, graphPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const options = {
    ...optionsFromEnv(process.env),
    port,
    dynamodbPort,
    sqsPort,
    graphPort,
    dataDir,
    fresh: true,
    secretsFile: writeSecretsFile(secretDocument()),
    countRequests: true,
    log: () => undefined,
  };
  console.log(
    `Node ${process.version}; sender batch ${options.senderBatchSize}, ${options.senderConcurrency} concurrent pollers; ${PER_WEBHOOK} opt-ins per webhook, ${POST_CONCURRENCY} webhooks in flight`,
  );
  const stack = await startLocalStack(options);
  try {
    const warmUp = await run(stack, 50, 1); // JIT, connections, DynamoDB Local's first writes
    await settle(stack, warmUp.loginIds);
    stack.resetRequestCounts();
    const unique = await run(stack, N, 1);
    await settle(stack, unique.loginIds);
    report(
      `Burst: ${N} opt-ins posted at once, ${PER_WEBHOOK} per webhook`,
      N,
      unique,
      stack.requestCounts(),
    );

    stack.resetRequestCounts();
    const pacedN = Math.max(20, Math.round(N / 5));
    const paced = await run(stack, pacedN, 1, 1, 20);
    await settle(stack, paced.loginIds);
    report(
      `Paced: one opt-in per webhook, 20 a second (N=${pacedN})`,
      pacedN,
      paced,
      stack.requestCounts(),
    );

    stack.resetRequestCounts();
    const dupN = Math.max(PER_WEBHOOK, Math.round(N / 5));
    const dup = await run(stack, dupN, 3);
    // Let the duplicates told to come back later finish, so their cost is counted too.
    await new Promise((resolve) => setTimeout(resolve, (options.senderTimeoutSeconds + 6) * 1000));
    report(`Every webhook delivered 3 times (N=${dupN})`, dupN, dup, stack.requestCounts());

    await reportHappyPathCost(stack, pacedN, (count) => run(stack, count, 1, 1, 20));
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
