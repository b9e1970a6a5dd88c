/**
 * DynamoDB Local's own pace, measured in the same run as the scenarios it is compared with, on the
 * same instance and table, with nothing else running: the floor a scenario's throughput is held to.
 *
 * - Transactions: scratch opt-ins claimed and recorded by the sender's own store code
 *   (`DynamoDbOptinStore.claim` then `markSent`, the happy path of `deliver.ts`), so the
 *   transactions have the sender's shape whatever it is at the time.
 * - Conditional writes: single `PutItem`s, each of a recorded OPTIN item (copied from a scratch
 *   opt-in, in the same index) under a new key, on condition that the key is new.
 *
 * Both run at the sender's concurrency (instances × batch size: a batch's records run at once),
 * straight to DynamoDB Local, without the counting proxy the handlers go through.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../../infra/local/dynamodb-local';
import { tombstoneId } from '../../shared/login-connect/tombstone';
import { SettingsSchema } from '../../shared/settings';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import type { OptinRef } from '../../shared/store/optin-store';
import { keys } from '../../shared/store/table-definition';
import type { DynamoFloor } from './measure';

export interface FloorOptions {
  endpoint: string;
  region: string;
  tableName: string;
  pageId: string;
  appSecret: string;
  concurrency: number;
  /** Scratch opt-ins claimed and recorded. */
  pairs: number;
  /** Single conditional writes. */
  writes: number;
  leaseMs: number;
  /** CPU time DynamoDB Local has used so far, in ms (for its CPU per request). */
  dynamoCpuMs?: () => number;
}

export interface FloorResult extends DynamoFloor {
  /** Requests one scratch opt-in's claim and record made, by operation. */
  requestsPerPair: Record<string, number>;
  /** Claim + record pairs a second: first messages DynamoDB Local could record, alone. */
  pairsPerSecond: number;
  /** DynamoDB Local's CPU per request, when `dynamoCpuMs` was given (else NaN). */
  cpuMsPerTransaction: number;
  cpuMsPerConditionalWrite: number;
  /** Size of the OPTIN item the conditional writes copy, bytes of JSON. */
  itemBytes: number;
  concurrency: number;
  pairs: number;
  writes: number;
}

/** Runs `task(i)` for i in 0…count-1, `concurrency` at a time; seconds it took. */
async function timed(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await task(i);
    }),
  );
  return (performance.now() - started) / 1000;
}

export async function measureDynamoFloor(options: FloorOptions): Promise<FloorResult> {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1, // a refused or throttled request is an error here, not a retry
  });
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => (args) => {
      const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      counts[op] = (counts[op] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountRequests' },
  );
  const doc = DynamoDBDocumentClient.from(client);
  const store = new DynamoDbOptinStore(doc, options.tableName, SettingsSchema.parse({}).retention);
  const secrets = { appSecret: options.appSecret };
  const ref = (loginId: string, nowMs: number): OptinRef => ({
    loginId,
    pageId: options.pageId,
    optinAtMs: nowMs,
    receivedAtMs: nowMs,
    source: 'webhook',
    tombstone: tombstoneId({ kind: 'login', id: loginId }, secrets),
  });
  const pair = async (loginId: string) => {
    const now = Date.now();
    const claimed = await store.claim(ref(loginId, now), now, options.leaseMs);
    if (claimed.outcome !== 'claimed') throw new Error(`floor: claim ${claimed.outcome}`);
    const recorded = await store.markSent(
      claimed.claim,
      {
        messageId: `m_${randomBytes(24).toString('base64url')}`,
        recipientId: String(10n ** 15n + BigInt(`0x${randomBytes(6).toString('hex')}`)),
      },
      Date.now(),
    );
    if (recorded !== 'recorded') throw new Error(`floor: record ${recorded}`);
  };
  try {
    // One scratch opt-in first, its OPTIN item as recorded: the conditional writes' template.
    // (Not as claimed: copies of a claimed item would wait in the `pending` index, and the
    // sweeper would take them up as stuck opt-ins a few minutes later, in the middle of a run.)
    const templateId = randomBytes(32).toString('hex');
    await pair(templateId);
    const { Item: template } = await doc.send(
      new GetCommand({
        TableName: options.tableName,
        Key: keys.optin(templateId),
        ConsistentRead: true,
      }),
    );
    if (!template) throw new Error('floor: the recorded OPTIN item was not found');
    const templateJson = JSON.stringify(template);

    for (const key of Object.keys(counts)) delete counts[key];
    const cpu = options.dynamoCpuMs ?? (() => Number.NaN);
    const ids = Array.from({ length: options.pairs }, () => randomBytes(32).toString('hex'));
    const cpuBeforePairs = cpu();
    const pairSeconds = await timed(options.pairs, options.concurrency, (i) => pair(ids[i] ?? ''));
    const pairCpuMs = cpu() - cpuBeforePairs;
    const requestsPerPair = Object.fromEntries(
      Object.entries(counts).map(([op, n]) => [op, n / options.pairs]),
    );

    // The same item under a new login_id (its keys and index keys follow the id).
    const writeIds = Array.from({ length: options.writes }, () => randomBytes(32).toString('hex'));
    const cpuBeforeWrites = cpu();
    const writeSeconds = await timed(options.writes, options.concurrency, async (i) => {
      const item = JSON.parse(templateJson.replaceAll(templateId, writeIds[i] ?? ''));
      await doc.send(
        new PutCommand({
          TableName: options.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    });
    const writeCpuMs = cpu() - cpuBeforeWrites;
    const transactions = (requestsPerPair.TransactWriteItems ?? 0) * options.pairs;
    const conditionalWritesPerSecond = options.writes / writeSeconds;
    // The pairs' other requests (a read before the claim, say) take their share of the pairs' time
    // at the single write's pace, as the ceiling holds them; the rest is the transactions'. So a
    // scenario whose requests per first message are a pair's gets the pairs' own pace as ceiling.
    const othersSeconds =
      Object.entries(requestsPerPair)
        .filter(([op]) => op !== 'TransactWriteItems')
        .reduce((sum, [, n]) => sum + n, 0) *
      (options.pairs / conditionalWritesPerSecond);
    const transactionSeconds = Math.max(pairSeconds - othersSeconds, pairSeconds / 10);
    return {
      cpuMsPerTransaction: pairCpuMs / transactions,
      cpuMsPerConditionalWrite: writeCpuMs / options.writes,
      transactionsPerSecond: transactions / transactionSeconds,
      conditionalWritesPerSecond,
      requestsPerPair,
      pairsPerSecond: options.pairs / pairSeconds,
      itemBytes: Buffer.byteLength(templateJson),
      concurrency: options.concurrency,
      pairs: options.pairs,
      writes: options.writes,
    };
  } finally {
    client.destroy();
  }
}
