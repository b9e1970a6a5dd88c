/**
 * What an opt-in costs in AWS, from what `npm run bench:e2e` measures on the local stack: the
 * DynamoDB capacity the handlers' requests consumed (transactions priced by AWS's rules, see
 * `infra/local/capacity-model.ts`), the SQS requests they made, and the handler invocations and
 * their durations. Priced per million opt-ins at us-east-1 list prices; free tiers and volume
 * discounts are left out.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../../infra/local/dynamodb-local';
import type { Invocation, LocalStack } from '../../infra/local/stack';
import type { CapacityUnits, ConsumedCapacityTotals } from '../../infra/local/wire-proxy';
import { batchGetAll } from '../../shared/store/batch-get';
import { keys } from '../../shared/store/table-definition';

/**
 * us-east-1 list prices in USD, as published after AWS's November 2024 DynamoDB on-demand price
 * cut (checked against public pricing summaries dated July 2025 to June 2026).
 */
export const PRICES = {
  /** DynamoDB on-demand, per million write request units. */
  dynamoWriteUnitPerMillion: 0.625,
  /** DynamoDB on-demand, per million read request units. */
  dynamoReadUnitPerMillion: 0.125,
  /** SQS standard queue, per million requests (each started 64 KiB of payload is a request). */
  sqsRequestPerMillion: 0.4,
  /** Lambda, per million invocations. */
  lambdaInvocationPerMillion: 0.2,
  /** Lambda duration, per GB-second (first 6 / 7.5 billion GB-s a month). */
  lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 } as Record<string, number>,
  /** API Gateway HTTP API, per million requests (first 300 million a month). */
  httpApiRequestPerMillion: 1.0,
} as const;

export interface CostMeasure {
  /** Opt-ins the scenario sent. */
  optins: number;
  capacity: { reported: ConsumedCapacityTotals; aws: ConsumedCapacityTotals };
  /** SQS requests as billed (64 KiB chunks), empty receives excluded. */
  sqsRequests: number;
  /** Empty receives: pollers waiting, billed by the time spent polling, not per opt-in. */
  sqsEmptyReceives: number;
  invocations: Invocation[];
}

/**
 * Waits until the scenario's requests are all counted: every opt-in recorded as ended (a message
 * reaches the Graph emulator before the sender records it), then no new DynamoDB request for a
 * moment. Without it, the last records of one scenario are counted in the next.
 */
export async function settle(stack: LocalStack, loginIds: string[], timeoutMs = 60_000) {
  const raw = new DynamoDBClient({
    endpoint: stack.info.dynamodbEndpoint,
    region: stack.info.region,
    credentials: LOCAL_CREDENTIALS,
  });
  const doc = DynamoDBDocumentClient.from(raw);
  const deadline = Date.now() + timeoutMs;
  const dynamoCounts = () =>
    JSON.stringify(
      Object.entries(stack.requestCounts()).filter(([op]) => op.startsWith('DynamoDB.')),
    );
  try {
    for (;;) {
      const items = await batchGetAll(
        doc,
        stack.info.tableName,
        loginIds.map((id) => keys.optin(id)),
        { consistentRead: true },
      );
      const open = items.filter((item) => item.status === 'pending' || item.status === 'sending');
      if (items.length === loginIds.length && open.length === 0) break;
      if (Date.now() > deadline) throw new Error(`${open.length} opt-ins still not recorded`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    for (let last = dynamoCounts(); ; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = dynamoCounts();
      if (now === last) break;
      last = now;
    }
  } finally {
    raw.destroy();
  }
}

/** Reads what the stack measured since its counters were last reset. */
export function measureCost(stack: LocalStack, optins: number): CostMeasure {
  const sqs = Object.entries(stack.requestTraffic()).filter(([op]) => op.startsWith('SQS.'));
  const empty = sqs.reduce((n, [, t]) => n + t.empty, 0);
  return {
    optins,
    capacity: stack.consumedCapacity(),
    sqsRequests: sqs.reduce((n, [, t]) => n + t.billed64KiB, 0) - empty,
    sqsEmptyReceives: empty,
    invocations: stack.invocations(),
  };
}

interface LambdaLine {
  fn: string;
  perOptin: number;
  p50Ms: number;
  meanBilledMs: number;
  /** Billed handler time per opt-in (all invocations' time / opt-ins). */
  msPerOptin: number;
  perMillion: number;
}

export interface CostBreakdown {
  dynamo: { read: number; write: number; perMillion: number };
  sqs: { perOptin: number; perMillion: number };
  lambda: LambdaLine[];
  httpApi: { perOptin: number; perMillion: number };
  /** DynamoDB + SQS + Lambda, per million opt-ins. */
  total: number;
  /**
   * The same if nothing were batched: each opt-in in its own SQS send, receive and delete, its
   * own webhook and its own sender invocation (its share of the measured sender time).
   */
  unbatched: { sqs: number; webhook: number; sender: number; total: number };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
};

/**
 * Per million opt-ins, in USD. Units or requests per opt-in × the price per million of them;
 * Lambda: invocations per opt-in × (the invocation price + GB × billed seconds × the GB-s price
 * × 1e6), billed seconds being the measured local handler time rounded up to the millisecond.
 */
export function costOf(
  measure: CostMeasure,
  lambda: { memoryMb: number; architecture: string },
): CostBreakdown {
  const n = measure.optins;
  const units = Object.values(measure.capacity.aws.operations).reduce<CapacityUnits>(
    (sum, u) => ({ read: sum.read + u.read, write: sum.write + u.write }),
    { read: 0, write: 0 },
  );
  const read = units.read / n;
  const write = units.write / n;
  const gbSecond = PRICES.lambdaGbSecond[lambda.architecture];
  if (gbSecond === undefined) throw new Error(`no Lambda price for ${lambda.architecture}`);
  const lambdaLines = (['webhook', 'sender'] as const).map((fn) => {
    const times = measure.invocations.filter((i) => i.fn === fn).map((i) => i.ms);
    const billedMs = times.reduce((sum, ms) => sum + Math.ceil(ms), 0);
    const meanBilledMs = times.length === 0 ? 0 : billedMs / times.length;
    return {
      fn,
      perOptin: times.length / n,
      p50Ms: median(times),
      meanBilledMs,
      msPerOptin: billedMs / n,
      perMillion: (times.length / n) * perInvocationMillion(meanBilledMs),
    };
  });
  function perInvocationMillion(ms: number) {
    return (
      PRICES.lambdaInvocationPerMillion +
      (lambda.memoryMb / 1024) * (ms / 1000) * (gbSecond ?? 0) * 1e6
    );
  }
  const webhooks = lambdaLines[0]?.perOptin ?? 0;
  const dynamo = {
    read,
    write,
    perMillion: write * PRICES.dynamoWriteUnitPerMillion + read * PRICES.dynamoReadUnitPerMillion,
  };
  const sqsPerOptin = measure.sqsRequests / n;
  const sqs = { perOptin: sqsPerOptin, perMillion: sqsPerOptin * PRICES.sqsRequestPerMillion };
  const breakdown: CostBreakdown = {
    dynamo,
    sqs,
    lambda: lambdaLines,
    httpApi: { perOptin: webhooks, perMillion: webhooks * PRICES.httpApiRequestPerMillion },
    total:
      dynamo.perMillion + sqs.perMillion + lambdaLines.reduce((sum, l) => sum + l.perMillion, 0),
    unbatched: {
      sqs: 3 * PRICES.sqsRequestPerMillion,
      webhook: perInvocationMillion(lambdaLines[0]?.meanBilledMs ?? 0),
      sender: perInvocationMillion(lambdaLines[1]?.msPerOptin ?? 0),
      total: 0,
    },
  };
  breakdown.unbatched.total =
    dynamo.perMillion +
    breakdown.unbatched.sqs +
    breakdown.unbatched.webhook +
    breakdown.unbatched.sender;
  return breakdown;
}

const f2 = (x: number) => x.toFixed(2);
const usd = (x: number) => `$${x.toFixed(2)}`;

/**
 * Runs the happy path once more with the DynamoDB proxy measuring capacity (it slows transactions
 * down, so the speed scenarios run without it) and prints what an opt-in costs.
 */
export async function reportHappyPathCost(
  stack: LocalStack,
  count: number,
  runPaced: (count: number) => Promise<{ loginIds: string[] }>,
): Promise<CostBreakdown> {
  stack.setMeasureCapacity(true);
  try {
    stack.resetRequestCounts();
    const { loginIds } = await runPaced(count);
    await settle(stack, loginIds);
    console.log(
      `\nWhat an opt-in costs: the happy path, one opt-in per webhook, 20 a second, capacity measured (N=${count})`,
    );
    console.log('  requests per opt-in:');
    for (const [op, k] of Object.entries(stack.requestCounts()).sort())
      console.log(`    ${op.padEnd(34)} ${(k / count).toFixed(2)}`);
    return reportCost(measureCost(stack, count), deployedLambda());
  } finally {
    stack.setMeasureCapacity(false);
  }
}

/** Prints the capacity per opt-in and the cost table per million opt-ins, with the arithmetic. */
export function reportCost(
  measure: CostMeasure,
  lambda: { memoryMb: number; architecture: string },
): CostBreakdown {
  const n = measure.optins;
  const cost = costOf(measure, lambda);
  const { reported, aws } = measure.capacity;
  const pair = (u: CapacityUnits | undefined) =>
    `${f2((u?.read ?? 0) / n).padStart(6)} ${f2((u?.write ?? 0) / n).padStart(6)}`;
  console.log(
    `  DynamoDB capacity units per opt-in      ${'AWS rules: read  write'.padEnd(26)}DynamoDB Local reported: read  write`,
  );
  const lines: Array<[string, CapacityUnits | undefined, CapacityUnits | undefined]> = [];
  for (const table of new Set([...Object.keys(aws.tables), ...Object.keys(reported.tables)])) {
    lines.push([`table ${table}`, aws.tables[table]?.table, reported.tables[table]?.table]);
    const indexes = new Set([
      ...Object.keys(aws.tables[table]?.indexes ?? {}),
      ...Object.keys(reported.tables[table]?.indexes ?? {}),
    ]);
    for (const index of [...indexes].sort())
      lines.push([
        `  index ${index}`,
        aws.tables[table]?.indexes[index],
        reported.tables[table]?.indexes[index],
      ]);
  }
  for (const op of new Set([...Object.keys(aws.operations), ...Object.keys(reported.operations)]))
    lines.push([`by ${op}`, aws.operations[op], reported.operations[op]]);
  for (const [label, a, r] of lines)
    console.log(`    ${label.padEnd(46)} ${pair(a)}${' '.repeat(26)}${pair(r)}`);
  const unmeasured = Object.entries(aws.unmeasured);
  if (unmeasured.length > 0)
    console.log(
      `    answers without capacity (refused conditions, cancelled transactions: charged, not counted): ${unmeasured
        .map(([op, k]) => `${op} ${f2(k / n)}`)
        .join(', ')} per opt-in`,
    );
  console.log(
    `  Cost per million opt-ins (us-east-1 list prices; DynamoDB at the AWS-rule units; Lambda ${lambda.memoryMb} MB ${lambda.architecture}):`,
  );
  const row = (arithmetic: string, dollars: number) =>
    console.log(`    ${arithmetic.padEnd(84)}= ${usd(dollars)}`);
  const { dynamoWriteUnitPerMillion: wru, dynamoReadUnitPerMillion: rru } = PRICES;
  row(
    `DynamoDB  ${f2(cost.dynamo.write)} WRU × $${wru} + ${f2(cost.dynamo.read)} RRU × $${rru}`,
    cost.dynamo.perMillion,
  );
  row(
    `SQS       ${f2(cost.sqs.perOptin)} requests × $${PRICES.sqsRequestPerMillion}`,
    cost.sqs.perMillion,
  );
  const gbSecondPerMillion = (PRICES.lambdaGbSecond[lambda.architecture] as number) * 1e6;
  for (const line of cost.lambda)
    row(
      `Lambda    ${line.fn.padEnd(7)} ${f2(line.perOptin)} × ($${PRICES.lambdaInvocationPerMillion} + ${lambda.memoryMb / 1024} GB × ${(line.meanBilledMs / 1000).toFixed(4)} s × $${f2(gbSecondPerMillion)})`,
      line.perMillion,
    );
  row('total DynamoDB + SQS + Lambda', cost.total);
  const { unbatched } = cost;
  row(
    `if nothing were batched: DynamoDB $${f2(cost.dynamo.perMillion)} + SQS 3 × $${PRICES.sqsRequestPerMillion} + webhook $${f2(unbatched.webhook)} + sender 1 × ($${PRICES.lambdaInvocationPerMillion} + ${lambda.memoryMb / 1024} GB × ${((cost.lambda[1]?.msPerOptin ?? 0) / 1000).toFixed(4)} s × $${f2(gbSecondPerMillion)})`,
    unbatched.total,
  );
  console.log(
    `    (API Gateway HTTP API in front of the webhook: ${f2(cost.httpApi.perOptin)} × $${PRICES.httpApiRequestPerMillion} = ${usd(cost.httpApi.perMillion)} more)`,
  );
  console.log(
    `    Lambda time is the local handler time, billed by the millisecond: mean webhook ${f2(cost.lambda[0]?.meanBilledMs ?? 0)} ms, sender ${f2(cost.lambda[1]?.meanBilledMs ?? 0)} ms (p50 ${f2(cost.lambda[0]?.p50Ms ?? 0)} and ${f2(cost.lambda[1]?.p50Ms ?? 0)} ms); an estimate: in AWS the sender also waits for the real Send API.`,
  );
  if (measure.sqsEmptyReceives > 0)
    console.log(
      `    Not per opt-in: ${f2(measure.sqsEmptyReceives / n)} empty receives per opt-in here (idle pollers; Lambda's pollers bill by time).`,
    );
  return cost;
}

/** Memory and architecture the CDK stack gives the functions (webhook and sender set neither). */
export function deployedLambda(): { memoryMb: number; architecture: string } {
  // Loaded only here: it brings in aws-cdk-lib.
  const { DEFAULT_MEMORY_SIZE_MB, FUNCTION_ARCHITECTURE } =
    require('../../infra/constructs/lcm-function') as typeof import('../../infra/constructs/lcm-function');
  return { memoryMb: DEFAULT_MEMORY_SIZE_MB, architecture: FUNCTION_ARCHITECTURE.name };
}
