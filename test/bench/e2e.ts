/**
 * `npm run bench:e2e`: opt-ins through the whole local stack (DynamoDB Local, fauxqs, the Graph
 * emulator, the real handlers). Reports throughput, opt-in→send latency and the DynamoDB and SQS
 * requests each opt-in costs. Emulators are not AWS: read the latencies as relative figures, the
 * request counts as exact.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { freePort, LOCAL_CREDENTIALS } from '../../infra/local/dynamodb-local';
import type { RecordedRequest } from '../../infra/local/graph-emulator';
import { type LocalStack, optionsFromEnv, startLocalStack } from '../../infra/local/stack';
import { keys } from '../../shared/store/table-definition';
import { signatureFor } from '../../shared/webhook/signature';
import { PAGE_ID, secretDocument } from '../helpers/factories';
import { RetryPlans, retryTiming } from '../helpers/retry-timing';
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

// ---------------------------------------------------------------------------------------------
// Flaky Graph (issue 8 §3): do retries run when they were planned?
// A stack of its own with SEND_RETRY_BASE_SECONDS=1 (unless set) and a Graph API that fails
// BENCH_FLAKY_RATE (0.3) of the calls with HTTP 500 code 1 or 2, code 613, or no answer for 25 s.
// Reports how late each retry ran against the `nextAttemptAt` its failed attempt planned (sampled
// from the `pending` index), how long the queue took to drain, and sends per opt-in (must be 1).
// `npm run bench:e2e -- flaky` runs this scenario alone.
// ---------------------------------------------------------------------------------------------

const FLAKY_N = Number(process.env.BENCH_FLAKY_OPTINS ?? 300);
const FLAKY_RATE = Number(process.env.BENCH_FLAKY_RATE ?? 0.3);
const FLAKY_DEADLINE_MS = Number(process.env.BENCH_FLAKY_DEADLINE_SECONDS ?? 600) * 1000;
/**
 * Graph's own transient failures, each opt-in's to retry: HTTP 500 code 1, HTTP 500 code 2, or no
 * answer for 25 s. With `BENCH_FLAKY_RATE_LIMITS=true`, code 613 too, as often as each of them: a
 * rate limit pauses the whole Page (a back-off of its own, see "Each Page's health"), so those
 * runs time the Page's pauses as much as the opt-ins' retries.
 */
const FLAKY_RATE_LIMITS = process.env.BENCH_FLAKY_RATE_LIMITS === 'true';
const FLAKY_FAULTS = [
  { kind: 'server_error', error: { code: 1 } },
  { kind: 'server_error' },
  ...(FLAKY_RATE_LIMITS ? [{ kind: 'rate_limit' }] : []),
  { kind: 'hang' },
];
/** The environment as launched: a stack started in this process sets its handlers' variables. */
const LAUNCH_ENV = { ...process.env };

/**
 * In a process of its own: the local stack loads the handlers once per process, configured for
 * the first stack, so a second stack in the same process would not reach its own queue.
 */
function runFlakyScenarioAlone(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', __filename, 'flaky'],
      { env: LAUNCH_ENV, stdio: 'inherit' },
    );
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`the flaky scenario exited with ${code}`)),
    );
  });
}

async function flakyScenario(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lcm-bench-flaky-'));
  const [port, dynamodbPort, sqsPort, graphPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  // Its own Graph emulator: the scenario sets it flaky.
  // Time runs 30 times faster than in the defaults, for the opt-in's own retries (30 s → 1 s)
  // and for a rate-limited Page's back-off alike (60 s → 2 s): a 613 pauses the whole Page.
  const { graphApiUrl: _ignored, ...fromEnv } = optionsFromEnv({
    SEND_RETRY_BASE_SECONDS: '1',
    PAGE_BACKOFF_BASE_SECONDS: '2',
    ...LAUNCH_ENV,
  });
  const options = {
    ...fromEnv,
    port,
    dynamodbPort,
    sqsPort,
    graphPort,
    dataDir,
    fresh: true,
    secretsFile: writeSecretsFile(secretDocument()),
    log: process.env.BENCH_LOG
      ? (line: string) => appendFileSync(process.env.BENCH_LOG ?? '', `${Date.now()} ${line}\n`)
      : () => undefined,
  };
  const stack = await startLocalStack(options);
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.info.dynamodbEndpoint,
      region: stack.info.region,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const sqs = new SQSClient({
    endpoint: stack.info.sqsEndpoint,
    region: stack.info.region,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  });
  const plans = new RetryPlans(doc, stack.info.tableName, async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.info.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  });
  try {
    const seed = Number(process.env.BENCH_FLAKY_SEED ?? Math.floor(Math.random() * 2 ** 31));
    await control(stack, 'flaky', { rate: FLAKY_RATE, seed, faults: FLAKY_FAULTS });
    const loginIds = Array.from({ length: FLAKY_N }, () => randomBytes(32).toString('hex'));
    for (const loginId of loginIds) await control(stack, 'optins', { loginId, pageId: PAGE_ID });
    plans.start();
    const started = Date.now();
    const bodies: string[][] = [];
    for (let i = 0; i < FLAKY_N; i += PER_WEBHOOK) bodies.push(loginIds.slice(i, i + PER_WEBHOOK));
    await Promise.all(
      Array.from({ length: POST_CONCURRENCY }, async () => {
        for (let ids = bodies.shift(); ids; ids = bodies.shift()) {
          const timestamp = Date.now();
          const raw = JSON.stringify({
            object: 'page',
            entry: [
              {
                id: PAGE_ID,
                time: timestamp,
                messaging: ids.map((id) => ({
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
    const firstSendAt = new Map<string, number>();
    const deadline = started + FLAKY_DEADLINE_MS;
    while (firstSendAt.size < FLAKY_N && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const m of (await control(stack, 'messages')) as Message[]) {
        const id = m.recipient.login_id;
        if (id && wanted.has(id) && !firstSendAt.has(id)) firstSendAt.set(id, Date.parse(m.at));
      }
    }
    // Long enough for a second message to show, were one coming from a retry or redelivery.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await plans.stop();
    const sends = new Map(loginIds.map((id) => [id, 0]));
    for (const m of (await control(stack, 'messages')) as Message[]) {
      const id = m.recipient.login_id;
      if (id && sends.has(id)) sends.set(id, (sends.get(id) ?? 0) + 1);
    }
    const requests = (await control(stack, 'requests')) as RecordedRequest[];
    // Evidence for any opt-in sent more than once: its Send API calls and its record. Under
    // `SEND_UNKNOWN_OUTCOME=retry` a second send may only follow an attempt whose outcome was
    // unknown (no answer in time, or a sender that stopped between Graph's answer and the record).
    const twice = [...sends].filter(([, n]) => n > 1).map(([id]) => id);
    for (const id of twice) {
      const calls = requests
        .filter((r) => r.recipient?.login_id === id)
        .map((r) => `${r.at} ${r.status} ${r.outcome}${r.flaky ? ' (flaky)' : ''}`);
      const { Item } = await doc.send(
        new GetCommand({ TableName: stack.info.tableName, Key: keys.optin(id) }),
      );
      console.log(`\nsent more than once: ${id.slice(0, 12)}…\n  calls: ${calls.join('; ')}`);
      console.log(`  record: ${JSON.stringify(Item)}`);
    }
    const timing = retryTiming(requests, plans, wanted);
    const mine = requests.filter((r) => wanted.has(String(r.recipient?.login_id)));
    const faults = mine.filter((r) => r.flaky);
    const byAnswer = new Map<string, number>();
    for (const r of faults) {
      const key =
        r.outcome === 'aborted'
          ? 'no answer (client timed out)'
          : `HTTP ${r.status} code ${r.error?.code}`;
      byAnswer.set(key, (byAnswer.get(key) ?? 0) + 1);
    }
    const counts = [...sends.values()];
    const latencies = [...firstSendAt.values()].map((at) => at - started);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `\nFlaky Graph: ${FLAKY_N} opt-ins posted at once, ${Math.round(FLAKY_RATE * 100)} % of Send API calls fail (500 code 1 or 2, ${FLAKY_RATE_LIMITS ? '613, ' : ''}or no answer; seed ${seed})`,
    );
    console.log(
      `  sender: batch ${options.senderBatchSize}, concurrency ${options.senderConcurrency}, timeout ${options.senderTimeoutSeconds} s; Graph timeout ${options.graphTimeoutSeconds} s; retry base ${options.sendRetryBaseSeconds} s; Page back-off base ${options.pageBackoffBaseSeconds} s`,
    );
    console.log(
      `  drained: ${firstSendAt.size} of ${FLAKY_N} sent, the last ${latencies.length ? s(Math.max(...latencies)) : '-'} after the first post`,
    );
    console.log(
      `  opt-in → first message: p50 ${s(percentile(latencies, 50))}, p99 ${s(percentile(latencies, 99))}; over 2 min: ${latencies.filter((l) => l > 120_000).length}`,
    );
    console.log(
      `  sends per opt-in: ${counts.filter((n) => n === 1).length} exactly 1, ${counts.filter((n) => n === 0).length} none, ${counts.filter((n) => n > 1).length} more than 1 (max ${Math.max(...counts)})`,
    );
    console.log(
      `  Send API calls: ${mine.length} (${(mine.length / FLAKY_N).toFixed(2)} per opt-in, max ${Math.max(0, ...timing.attempts.values())}); faults drawn: ${[...byAnswer].map(([k, n]) => `${n} ${k}`).join(', ')}`,
    );
    console.log(
      `  retry lateness (call − nextAttemptAt), ${timing.lateMs.length} retries: p50 ${s(percentile(timing.lateMs, 50))}, p99 ${s(percentile(timing.lateMs, 99))}, max ${s(Math.max(0, ...timing.lateMs))}; over 10 s: ${timing.lateMs.filter((l) => l > 10_000).length}; plan not seen: ${timing.unplanned}`,
    );
    const [slowest, slowestAt] = [...firstSendAt].sort((a, b) => b[1] - a[1])[0] ?? ['', started];
    console.log(
      `  the last opt-in sent: ${timing.attempts.get(slowest) ?? 0} attempts, its retries ${s((timing.lateByLoginId.get(slowest) ?? []).reduce((a, b) => a + b, 0))} late in all, sent ${s(slowestAt - started)} after the first post`,
    );
    const calm = timing.lateWithoutBacklogMs;
    console.log(
      `  of which planned while nothing waited in the queue, ${calm.length}: p50 ${s(percentile(calm, 50))}, p99 ${s(percentile(calm, 99))}, max ${s(Math.max(0, ...calm))}; over 10 s: ${calm.filter((l) => l > 10_000).length}`,
    );
  } finally {
    await plans.stop();
    doc.destroy();
    sqs.destroy();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'flaky') return flakyScenario();
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
  await runFlakyScenarioAlone();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
