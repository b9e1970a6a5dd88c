/**
 * `npm run bench:e2e`: opt-ins through the whole local stack (DynamoDB Local, fauxqs, the Graph
 * emulator, the real handlers). For each scenario: throughput, opt-in→send latency, the DynamoDB
 * and SQS requests each opt-in costs, and the CPU each local process spent per opt-in. The burst is
 * held to DynamoDB Local's own pace, measured alone in the same run before each of its two runs
 * (`floor.ts`), and the 300 ms Graph runs to their latency target; a summary table ends the run.
 * Emulators are not AWS: read the times as relative figures, the request counts as exact.
 *
 * Two parts, each on a stack of its own. Part 1 (a child process, `--part=speed`) times the burst
 * on a stack as `npm start` runs it, between two measures of the floor: no counting proxies, which
 * would take CPU from DynamoDB Local. Part 2 counts every request through the proxies: the same
 * burst again (its counts are the burst's), then the other scenarios.
 *
 *   npm run bench:e2e                      all scenarios, then the flaky Graph in a stack of its own
 *   npm run bench:e2e -- --json=out.json   the same, and the figures as JSON
 *   npm run bench:e2e -- --no-flaky        all but the flaky Graph
 *   npm run bench:e2e -- --only=burst      the floor and the two bursts alone
 *   npm run bench:e2e -- flaky             the flaky Graph alone
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { freePort, LOCAL_CREDENTIALS } from '../../infra/local/dynamodb-local';
import type { RecordedRequest } from '../../infra/local/graph-emulator';
import {
  type LocalStack,
  type LocalStackOptions,
  optionsFromEnv,
  startLocalStack,
} from '../../infra/local/stack';
import { keys } from '../../shared/store/table-definition';
import { signatureFor } from '../../shared/webhook/signature';
import { PAGE_ID, secretDocument } from '../helpers/factories';
import { RetryPlans, retryTiming } from '../helpers/retry-timing';
import { writeSecretsFile } from '../helpers/secrets-file';
import { reportHappyPathCost, settle } from './cost';
import { type CpuWindow, cpuBetween, processTree, snapshot, TICKS_PER_SECOND } from './cpu';
import { type FloorResult, measureDynamoFloor } from './floor';
import { startGraphProcess } from './graph-process';
import { control, LoadGenerator, type LoadResult } from './load';
import {
  type Ceiling,
  ceilingArithmetic,
  type DynamoFloor,
  dynamoCeiling,
  dynamoPerMessage,
  fasterFloor,
  markdownTable,
  type ProcStat,
  percentile,
  verdict,
} from './measure';

const N = Number(process.env.BENCH_OPTINS ?? 500);
const PER_WEBHOOK = 10;
const POST_CONCURRENCY = 8;
/** The issue's latency run: 200 opt-ins posted 10 at a time, every Send API answer 300 ms late. */
const SLOW_GRAPH = {
  optins: Number(process.env.BENCH_SLOW_GRAPH_OPTINS ?? 200),
  inFlight: 10,
  delayMs: 300,
  p99TargetMs: 1000,
};
/** First messages the sender works on at once: instances × batch size. */
const SENDER_IN_FLIGHT = (() => {
  const { senderConcurrency, senderBatchSize } = optionsFromEnv(process.env);
  return senderConcurrency * senderBatchSize;
})();
/** The burst must reach this share of what DynamoDB Local alone allows. */
const BURST_TARGET_SHARE = 0.8;
/** Opt-ins through the speed stack before its floor and burst: DynamoDB Local's JIT warms up. */
const WARM_OPTINS = Number(process.env.BENCH_WARM_OPTINS ?? 300);
/** `--only=burst`: the floors and the two bursts alone (a quick look while tuning). */
const ONLY = (process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? '')
  .split(',')
  .filter(Boolean);
for (const part of ONLY)
  if (part !== 'burst') throw new Error(`--only=${part}: only --only=burst is known`);
const FLOOR_PAIRS = Number(process.env.BENCH_FLOOR_PAIRS ?? 300);
const FLOOR_WRITES = Number(process.env.BENCH_FLOOR_WRITES ?? 600);

interface Message {
  recipient: { login_id?: string };
  at: string;
}

/** The processes of the stack, as the tables name them. */
const PROCESS_LABELS = {
  dynamodb: 'DynamoDB Local (JVM)',
  stack: 'stack: SQS emulator, webhook, API, wire proxies',
  sender: 'sender (poller and its instances)',
  graph: 'Graph emulator',
  load: 'load generator',
} as const;

interface Scenario {
  name: string;
  /** A short name for the summary. */
  key: string;
  optins: number;
  result: LoadResult;
  counts: Record<string, number>;
  cpu: CpuWindow;
}

interface Bench {
  stack: LocalStack;
  graphUrl: string;
  load: LoadGenerator;
  labelOf(stat: ProcStat): string;
}

/**
 * One scenario: fresh opt-ins registered with an emptied Graph emulator, posted by the load
 * generator; CPU read from the first post until every opt-in is recorded; requests counted
 * once every opt-in is recorded.
 */
async function runScenario(
  bench: Bench,
  shape: {
    count: number;
    copies?: number;
    perWebhook: number;
    inFlight: number;
    ratePerSecond?: number;
    rounds?: boolean;
    graphDelayMs?: number;
  },
): Promise<Omit<Scenario, 'name' | 'key'> & { loginIds: string[] }> {
  const { stack, graphUrl, load } = bench;
  await control(graphUrl, 'reset', {});
  if (shape.graphDelayMs)
    await control(graphUrl, 'flaky', {
      rate: 1,
      faults: [{ kind: 'slow', delayMs: shape.graphDelayMs }],
    });
  const loginIds = await load.prepare(graphUrl, PAGE_ID, shape.count);
  stack.resetRequestCounts();
  const before = snapshot();
  const result = await load.run({
    webhookUrl: stack.info.webhookUrl,
    appSecret: stack.info.appSecret,
    graphUrl,
    pageId: PAGE_ID,
    loginIds,
    copies: shape.copies ?? 1,
    perWebhook: shape.perWebhook,
    concurrency: shape.inFlight,
    ...(shape.ratePerSecond ? { ratePerSecond: shape.ratePerSecond } : {}),
    ...(shape.rounds ? { rounds: true } : {}),
    waitMs: 120_000,
  });
  if (result.sent !== shape.count || result.distinct !== shape.count)
    throw new Error(
      `${result.sent} messages to ${result.distinct} of ${shape.count} opt-ins (expected exactly one each)`,
    );
  await settle(stack, loginIds);
  // After every send is recorded, as the request counts are: the last records' CPU included.
  const after = snapshot();
  return {
    optins: shape.count,
    result,
    counts: stack.requestCounts(),
    cpu: cpuBetween(before, after, bench.labelOf),
    loginIds,
  };
}

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const throughputOf = (s: Scenario) => s.optins / s.result.seconds;
const cpuOf = (s: Scenario, label: string) =>
  s.cpu.groups.filter((g) => g.label === label).reduce((sum, g) => sum + g.ms, 0) / s.optins;
const loadAverage = (s: Scenario) =>
  `${s.cpu.load1.start.toFixed(1)} → ${s.cpu.load1.end.toFixed(1)}`;

function report(s: Scenario, floor: DynamoFloor): void {
  const ceiling = dynamoCeiling(dynamoPerMessage(s.counts, s.optins), floor);
  console.log(`\n${s.name}`);
  console.log(
    `  ${s.optins} opt-ins in ${s.result.seconds.toFixed(2)} s (all posted in ${s.result.postSeconds.toFixed(2)} s): ${fixed(throughputOf(s))} opt-ins/s; DynamoDB Local alone allows ${fixed(ceiling.messagesPerSecond)} (${fixed((throughputOf(s) / ceiling.messagesPerSecond) * 100)} % of it)`,
  );
  console.log(
    `  opt-in → send: p50 ${percentile(s.result.latencies, 50)} ms, p99 ${percentile(s.result.latencies, 99)} ms`,
  );
  console.log('  requests per opt-in:');
  for (const [op, n] of Object.entries(s.counts).sort())
    console.log(`    ${op.padEnd(34)} ${(n / s.optins).toFixed(2)}`);
  console.log(
    `  CPU per opt-in (${s.cpu.seconds.toFixed(1)} s from the first post to the last message; machine: ${fixed(s.cpu.machineBusyCores, 2)} of ${s.cpu.cores} cores busy, load average ${loadAverage(s)}):`,
  );
  for (const g of [...s.cpu.groups].sort((a, b) => b.ms - a.ms))
    console.log(
      `    ${g.label.padEnd(50)} ${(g.ms / s.optins).toFixed(2).padStart(7)} ms  (${g.pids.join(', ')})`,
    );
  const ours = s.cpu.groups.reduce((sum, g) => sum + g.ms, 0) / 1000 / s.cpu.seconds;
  console.log(
    `    ${'all of them'.padEnd(50)} ${(s.cpu.groups.reduce((sum, g) => sum + g.ms, 0) / s.optins).toFixed(2).padStart(7)} ms  (${ours.toFixed(2)} cores; other work on the machine: ${fixed(s.cpu.machineBusyCores - ours, 2)})`,
  );
}

function reportFloor(when: string, floor: FloorResult): void {
  console.log(
    `\nDynamoDB Local alone (the floor), ${when}, ${floor.concurrency} requests in flight, on scratch keys:`,
  );
  console.log(
    `  ${floor.pairs} scratch opt-ins claimed and recorded by the sender's store: ${fixed(floor.pairsPerSecond)} a second; ${Object.entries(
      floor.requestsPerPair,
    )
      .map(([op, n]) => `${n.toFixed(2)} ${op}`)
      .join(
        ', ',
      )} each → ${fixed(floor.transactionsPerSecond)} TransactWriteItems/s; DynamoDB Local's CPU ${fixed(floor.cpuMsPerTransaction, 2)} ms per transaction`,
  );
  console.log(
    `  ${floor.writes} single conditional PutItems of a recorded OPTIN item (${floor.itemBytes} bytes of JSON): ${fixed(floor.conditionalWritesPerSecond)}/s; DynamoDB Local's CPU ${fixed(floor.cpuMsPerConditionalWrite, 2)} ms per write`,
  );
  const others = Object.keys(floor.requestsPerPair).filter((op) => op !== 'TransactWriteItems');
  if (others.length > 0)
    console.log(
      `  note: the claim and record also made ${others.join(', ')}; the transaction floor leaves out their share of the time, at the single write's pace`,
    );
}

/** The summary: each figure beside its target and its floor. */
function summary(
  scenarios: Scenario[],
  floor: DynamoFloor,
  measures: Array<FloorResult & { when: string }>,
): string {
  const ceilingOf = (s: Scenario): Ceiling =>
    dynamoCeiling(dynamoPerMessage(s.counts, s.optins), floor);
  const byKey = (key: string) => scenarios.find((s) => s.key === key);
  const lines: string[] = [];
  const targets: string[][] = [];
  const burst = byKey('burst');
  if (burst) {
    const c = ceilingOf(burst);
    const target = BURST_TARGET_SHARE * c.messagesPerSecond;
    targets.push([
      'burst throughput',
      `${fixed(throughputOf(burst), 1)} opt-ins/s (${fixed((throughputOf(burst) / c.messagesPerSecond) * 100)} % of the floor)`,
      `≥ 80 % of the floor: ${fixed(target, 1)} opt-ins/s`,
      `${fixed(c.messagesPerSecond, 1)} first messages/s = ${ceilingArithmetic(c)}`,
      verdict(throughputOf(burst), target, 'atLeast'),
    ]);
  }
  const slow = byKey('slow-graph');
  if (slow) {
    const p99 = percentile(slow.result.latencies, 99);
    targets.push([
      `opt-in → send p99, Graph answering in ${SLOW_GRAPH.delayMs} ms: ${slow.optins} opt-ins in rounds of ${SLOW_GRAPH.inFlight}`,
      `${p99} ms (p50 ${percentile(slow.result.latencies, 50)} ms)`,
      `≤ ${SLOW_GRAPH.p99TargetMs} ms`,
      `${SLOW_GRAPH.delayMs} ms: Graph's answer alone`,
      verdict(p99, SLOW_GRAPH.p99TargetMs, 'atMost'),
    ]);
  }
  const atOnce = byKey('slow-graph-at-once');
  if (atOnce) {
    const p99 = percentile(atOnce.result.latencies, 99);
    // The p99 is the latency of the ceil(0.99 n)-th opt-in sent, k. This sender claims and records
    // each first message before its instance takes more work, so at most `inFlight` (instances ×
    // batch) records can still be owed when the k-th message goes out: DynamoDB Local has done
    // the work of at least k - inFlight/2 first messages by then, at best at the ceiling's pace.
    // The last opt-ins were posted at the latest when posting ended.
    const c = ceilingOf(atOnce);
    const k = Math.ceil(atOnce.optins * 0.99);
    const owed = SENDER_IN_FLIGHT / 2;
    const boundMs = Math.max(
      SLOW_GRAPH.delayMs,
      ((k - owed) * 1000) / c.messagesPerSecond -
        atOnce.result.postSeconds * 1000 +
        SLOW_GRAPH.delayMs,
    );
    targets.push([
      `the same ${atOnce.optins} opt-ins posted at once (${SLOW_GRAPH.inFlight} webhooks in flight)`,
      `${p99} ms (p50 ${percentile(atOnce.result.latencies, 50)} ms)`,
      `≤ ${SLOW_GRAPH.p99TargetMs} ms`,
      `≥ ${fixed(boundMs)} ms for this sender: the ${k}th message waits for ${fixed(k - owed)} first messages' DynamoDB work at the ceiling's ${fixed(c.messagesPerSecond, 1)}/s, less the ${fixed(atOnce.result.postSeconds, 2)} s of posting, plus Graph's ${SLOW_GRAPH.delayMs} ms`,
      boundMs > SLOW_GRAPH.p99TargetMs
        ? 'out of reach for this sender on this machine'
        : verdict(p99, SLOW_GRAPH.p99TargetMs, 'atMost'),
    ]);
  }
  lines.push(markdownTable(['target', 'measured', 'target', 'floor', 'verdict'], targets));
  lines.push('');
  const labels = Object.values(PROCESS_LABELS);
  lines.push(
    markdownTable(
      [
        'scenario',
        'opt-ins/s',
        'p50 / p99 ms',
        'DynamoDB requests per first message',
        'DynamoDB Local alone allows (share used)',
        'CPU ms per opt-in: DynamoDB Local / stack / sender / Graph / load',
        'machine: cores busy (ours), load average',
      ],
      scenarios.map((s) => {
        const c = ceilingOf(s);
        const ours = s.cpu.groups.reduce((sum, g) => sum + g.ms, 0) / 1000 / s.cpu.seconds;
        return [
          s.name,
          fixed(throughputOf(s), 1),
          `${percentile(s.result.latencies, 50)} / ${percentile(s.result.latencies, 99)}`,
          c.terms.map((t) => `${t.perMessage.toFixed(2)} ${t.operation}`).join(', '),
          `${fixed(c.messagesPerSecond, 1)}/s (${fixed((throughputOf(s) / c.messagesPerSecond) * 100)} %)`,
          labels.map((l) => cpuOf(s, l).toFixed(1)).join(' / '),
          `${fixed(s.cpu.machineBusyCores, 2)} of ${s.cpu.cores} (${ours.toFixed(2)}), ${loadAverage(s)}`,
        ];
      }),
    ),
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['floor: DynamoDB Local alone', ...measures.map((m) => m.when), 'held to (the faster)'],
      [
        [
          `TransactWriteItems/s (the sender's claim and record, ${measures[0]?.concurrency} in flight)`,
          ...measures.map((m) => fixed(m.transactionsPerSecond)),
          fixed(floor.transactionsPerSecond),
        ],
        [
          'single conditional writes/s (an OPTIN item)',
          ...measures.map((m) => fixed(m.conditionalWritesPerSecond)),
          fixed(floor.conditionalWritesPerSecond),
        ],
        [
          "DynamoDB Local's CPU ms per transaction",
          ...measures.map((m) => fixed(m.cpuMsPerTransaction, 1)),
          '',
        ],
        [
          "DynamoDB Local's CPU ms per claim + record (the scenarios: its CPU per opt-in)",
          ...measures.map((m) =>
            fixed(m.cpuMsPerTransaction * (m.requestsPerPair.TransactWriteItems ?? 0), 1),
          ),
          '',
        ],
      ],
    ),
  );
  return lines.join('\n');
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
  // The handlers' own logs, only when asked for (as the other scenarios).
  if (!process.env.BENCH_LOG) process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
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
    await control(stack.info.graphEmulatorUrl ?? '', 'flaky', {
      rate: FLAKY_RATE,
      seed,
      faults: FLAKY_FAULTS,
    });
    const loginIds = Array.from({ length: FLAKY_N }, () => randomBytes(32).toString('hex'));
    for (const loginId of loginIds)
      await control(stack.info.graphEmulatorUrl ?? '', 'optins', { loginId, pageId: PAGE_ID });
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
      for (const m of (await control(stack.info.graphEmulatorUrl ?? '', 'messages')) as Message[]) {
        const id = m.recipient.login_id;
        if (id && wanted.has(id) && !firstSendAt.has(id)) firstSendAt.set(id, Date.parse(m.at));
      }
    }
    // Long enough for a second message to show, were one coming from a retry or redelivery.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await plans.stop();
    const sends = new Map(loginIds.map((id) => [id, 0]));
    for (const m of (await control(stack.info.graphEmulatorUrl ?? '', 'messages')) as Message[]) {
      const id = m.recipient.login_id;
      if (id && sends.has(id)) sends.set(id, (sends.get(id) ?? 0) + 1);
    }
    const requests = (await control(
      stack.info.graphEmulatorUrl ?? '',
      'requests',
    )) as RecordedRequest[];
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

/** A local stack for part of the run, with the Graph process and load generator shared. */
async function withStack<T>(
  options: LocalStackOptions,
  shared: { graph: Awaited<ReturnType<typeof startGraphProcess>>; load: LoadGenerator },
  use: (bench: Bench, stack: LocalStack) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lcm-bench-e2e-'));
  const [port, dynamodbPort, sqsPort, graphPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({ ...options, port, dynamodbPort, sqsPort, graphPort, dataDir });
    const running = stack;
    const fixedPids = new Map<number, string>([
      [process.pid, PROCESS_LABELS.stack],
      [shared.graph.process.pid ?? -1, PROCESS_LABELS.graph],
      [shared.load.pid ?? -1, PROCESS_LABELS.load],
    ]);
    const bench: Bench = {
      stack,
      graphUrl: shared.graph.url,
      load: shared.load,
      labelOf: (stat) => {
        if (stat.pid === running.pollerPid()) return PROCESS_LABELS.sender;
        if (stat.comm === 'java') return PROCESS_LABELS.dynamodb;
        return fixedPids.get(stat.pid) ?? `other: ${stat.comm}`;
      },
    };
    return await use(bench, stack);
  } finally {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface SpeedPart {
  /** The faster burst, then the slower. */
  bursts: [Scenario, Scenario];
  floors: Array<FloorResult & { when: string }>;
}

/** Part 1 (`--part=speed --out=<file>`): the warm-up, the floor, the burst, the floor again. */
async function speedPart(outPath: string): Promise<void> {
  const secretsFile = writeSecretsFile(secretDocument());
  const graph = await startGraphProcess(secretsFile, LAUNCH_ENV);
  const load = await LoadGenerator.start(LAUNCH_ENV);
  const options = stackOptions(graph.url, secretsFile);
  const burstShape = { count: N, perWebhook: PER_WEBHOOK, inFlight: POST_CONCURRENCY };
  try {
    const part = await withStack(
      { ...options, countRequests: false },
      { graph, load },
      async (bench): Promise<SpeedPart> => {
        // DynamoDB Local's JIT: its first thousand or so requests run slower. The floor is
        // measured on a warm JVM, so the burst runs on one too.
        await runScenario(bench, { ...burstShape, count: WARM_OPTINS });
        const floorOf = floorMeasure(bench, options);
        await floorOf(1);
        // Floor, burst, floor, burst: each held to the faster of its two, since other work can
        // only slow either down (the floor alone moved by up to 10 % between measures).
        const floorBefore = await floorOf(1);
        reportFloor('before the first burst', floorBefore);
        const { loginIds: _a, ...first } = await runScenario(bench, burstShape);
        const floorBetween = await floorOf(1);
        reportFloor('between the bursts', floorBetween);
        const { loginIds: _b, ...second } = await runScenario(bench, burstShape);
        const [faster, slower] =
          throughputOf(first as Scenario) >= throughputOf(second as Scenario)
            ? [first, second]
            : [second, first];
        const name = `Burst: ${N} opt-ins posted at once, ${PER_WEBHOOK} per webhook, ${POST_CONCURRENCY} webhooks in flight`;
        return {
          bursts: [
            {
              name: `${name}, the faster of two (requests: the counted burst's)`,
              key: 'burst',
              ...faster,
            },
            { name: `${name}, the slower of two`, key: 'burst-slower', ...slower },
          ],
          floors: [
            { when: 'before the first burst', ...floorBefore },
            { when: 'between the bursts', ...floorBetween },
          ],
        };
      },
    );
    writeFileSync(outPath, JSON.stringify(part));
  } finally {
    load.stop();
    graph.process.kill('SIGTERM');
  }
}

/** Runs part 1 in a child process (this script with `--part=speed`) and reads what it measured. */
async function speedPartInChild(): Promise<SpeedPart> {
  const dir = mkdtempSync(join(tmpdir(), 'lcm-bench-speed-'));
  const out = join(dir, 'speed.json');
  try {
    const child = spawn(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', __filename, '--part=speed', `--out=${out}`],
      { env: LAUNCH_ENV, stdio: 'inherit' },
    );
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`the speed part exited with ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as SpeedPart;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stackOptions(graphApiUrl: string, secretsFile: string) {
  return {
    ...optionsFromEnv(process.env),
    graphApiUrl,
    fresh: true,
    secretsFile,
    log: () => undefined,
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'flaky') return flakyScenario();
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  if (process.argv.includes('--part=speed'))
    return speedPart(
      process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? '',
    );
  const jsonPath = process.argv.find((a) => a.startsWith('--json='))?.slice('--json='.length);
  const startedAt = Date.now();
  const launch = optionsFromEnv(process.env);
  console.log(
    `Node ${process.version}, ${cpus().length} CPUs; sender batch ${launch.senderBatchSize}, ${launch.senderConcurrency} concurrent instances; functions: ${launch.handlers?.kind ?? 'sources'}`,
  );
  const scenarios: Scenario[] = [];
  const floors: Array<FloorResult & { when: string }> = [];

  // Part 1, speed: the burst on a stack as `npm start` runs it, without the counting proxies
  // (they cost the stack's process about 1.5 ms of CPU per opt-in, on the cores DynamoDB Local
  // needs), between two measures of the floor. In a process of its own (with its own Graph and
  // load): the in-process handlers keep the endpoints of the first stack they ran with.
  console.log('\nPart 1: the burst against the floor, on a stack without the counting proxies');
  const speed = await speedPartInChild();
  const [burst, slowerBurst] = speed.bursts;
  scenarios.push(burst, slowerBurst);
  floors.push(...speed.floors);
  const floor = fasterFloor(floors[0] as FloorResult, floors[1] as FloorResult);
  console.log(
    `  the floor the scenarios are held to, the faster of the two: ${fixed(floor.transactionsPerSecond)} TransactWriteItems/s, ${fixed(floor.conditionalWritesPerSecond)} conditional writes/s`,
  );

  const secretsFile = writeSecretsFile(secretDocument());
  // Graph in a process of its own, so that its CPU is told apart from the stack's.
  const graph = await startGraphProcess(secretsFile, LAUNCH_ENV);
  const options = stackOptions(graph.url, secretsFile);
  let load: LoadGenerator | undefined;
  try {
    load = await LoadGenerator.start(LAUNCH_ENV);
    const shared = { graph, load };
    const measured = async (
      bench: Bench,
      name: string,
      key: string,
      shape: Parameters<typeof runScenario>[1],
    ) => {
      const { loginIds: _, ...run } = await runScenario(bench, shape);
      const scenario = { name, key, ...run };
      scenarios.push(scenario);
      return scenario;
    };
    const burstShape = { count: N, perWebhook: PER_WEBHOOK, inFlight: POST_CONCURRENCY };

    // Part 2: every request counted, through the proxies (a stack of its own).
    console.log('\nPart 2: the scenarios with every request counted, through the proxies');
    await withStack({ ...options, countRequests: true }, shared, async (bench, stack) => {
      await runScenario(bench, { ...burstShape, count: 50 });
      const counted = await measured(
        bench,
        `Burst again, through the counting proxies (N=${N})`,
        'burst-counted',
        burstShape,
      );
      // The burst's own requests: the same load, counted.
      burst.counts = counted.counts;
      slowerBurst.counts = counted.counts;
      report(burst, floor);
      report(slowerBurst, floor);
      report(counted, floor);
      if (ONLY.includes('burst')) return;

      const pacedN = Math.max(20, Math.round(N / 5));
      report(
        await measured(bench, `Paced: one opt-in per webhook, 20 a second (N=${pacedN})`, 'paced', {
          count: pacedN,
          perWebhook: 1,
          inFlight: 1,
          ratePerSecond: 20,
        }),
        floor,
      );

      const slowShape = {
        count: SLOW_GRAPH.optins,
        perWebhook: 1,
        inFlight: SLOW_GRAPH.inFlight,
        graphDelayMs: SLOW_GRAPH.delayMs,
      };
      report(
        await measured(
          bench,
          `Graph answering in ${SLOW_GRAPH.delayMs} ms: ${SLOW_GRAPH.optins} opt-ins in rounds of ${SLOW_GRAPH.inFlight}, each round posted once the one before has its messages`,
          'slow-graph',
          { ...slowShape, rounds: true },
        ),
        floor,
      );
      report(
        await measured(
          bench,
          `Graph answering in ${SLOW_GRAPH.delayMs} ms: ${SLOW_GRAPH.optins} opt-ins posted at once, one per webhook, ${SLOW_GRAPH.inFlight} webhooks in flight`,
          'slow-graph-at-once',
          slowShape,
        ),
        floor,
      );
      await control(graph.url, 'reset', {});

      const dupN = Math.max(PER_WEBHOOK, Math.round(N / 5));
      const dup = await measured(
        bench,
        `Every webhook delivered 3 times (N=${dupN})`,
        'redelivered',
        {
          count: dupN,
          copies: 3,
          perWebhook: PER_WEBHOOK,
          inFlight: POST_CONCURRENCY,
        },
      );
      // Let the duplicates told to come back later finish, so their cost is counted too.
      await new Promise((resolve) =>
        setTimeout(resolve, (options.senderTimeoutSeconds + 6) * 1000),
      );
      dup.counts = stack.requestCounts();
      report(dup, floor);

      await reportHappyPathCost(stack, pacedN, async (count) => {
        const { loginIds } = await runScenario(bench, {
          count,
          perWebhook: 1,
          inFlight: 1,
          ratePerSecond: 20,
        });
        return { loginIds };
      });
    });

    const table = summary(scenarios, floor, floors);
    console.log(`\nSummary\n\n${table}`);
    if (jsonPath) {
      writeFileSync(
        jsonPath,
        `${JSON.stringify(
          {
            at: new Date(startedAt).toISOString(),
            node: process.version,
            cores: cpus().length,
            options: {
              senderBatchSize: options.senderBatchSize,
              senderConcurrency: options.senderConcurrency,
              handlers: options.handlers?.kind ?? 'sources',
            },
            floor,
            floorMeasures: floors,
            scenarios: scenarios.map((s) => ({
              key: s.key,
              name: s.name,
              optins: s.optins,
              seconds: s.result.seconds,
              postSeconds: s.result.postSeconds,
              throughput: throughputOf(s),
              p50Ms: percentile(s.result.latencies, 50),
              p99Ms: percentile(s.result.latencies, 99),
              requestsPerOptin: Object.fromEntries(
                Object.entries(s.counts).map(([op, n]) => [op, n / s.optins]),
              ),
              dynamoCeiling: dynamoCeiling(dynamoPerMessage(s.counts, s.optins), floor),
              cpuMsPerOptin: Object.fromEntries(
                s.cpu.groups.map((g) => [g.label, g.ms / s.optins]),
              ),
              machineBusyCores: s.cpu.machineBusyCores,
              loadAverage1m: s.cpu.load1,
            })),
          },
          null,
          2,
        )}\n`,
      );
      console.log(`\n(figures written to ${jsonPath})`);
    }
  } finally {
    load?.stop();
    graph.process.kill('SIGTERM');
  }
  if (process.argv.includes('--no-flaky') || ONLY.length > 0) return;
  console.log(`\n(${((Date.now() - startedAt) / 1000).toFixed(0)} s so far; the flaky Graph next)`);
  await runFlakyScenarioAlone();
  console.log(`\nbench:e2e took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
}

/** DynamoDB Local's floor on `bench`'s stack, `share` of a full measure. */
function floorMeasure(
  bench: Bench,
  options: { senderConcurrency: number; senderBatchSize: number; senderTimeoutSeconds: number },
) {
  const info = bench.stack.info;
  const jvmCpuMs = () =>
    [...processTree().values()]
      .filter((p) => bench.labelOf(p) === PROCESS_LABELS.dynamodb)
      .reduce((ms, p) => ms + ((p.utime + p.stime) * 1000) / TICKS_PER_SECOND, 0);
  return (share: number) =>
    measureDynamoFloor({
      endpoint: info.dynamodbEndpoint,
      region: info.region,
      tableName: info.tableName,
      pageId: PAGE_ID,
      appSecret: info.appSecret,
      // A sender instance runs its batch's records at once.
      concurrency: options.senderConcurrency * options.senderBatchSize,
      pairs: Math.round(FLOOR_PAIRS * share),
      writes: Math.round(FLOOR_WRITES * share),
      leaseMs: (options.senderTimeoutSeconds + 5) * 1000,
      dynamoCpuMs: jvmCpuMs,
    });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
