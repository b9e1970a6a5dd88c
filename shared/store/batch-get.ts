import { type DynamoDBDocumentClient, paginatedBatchGet } from '@aws-sdk/lib-dynamodb';

/** BatchGetItem takes at most this many keys a request. */
export const BATCH_GET_MAX_KEYS = 100;

/** A primary key: `{ pk, sk }` here. */
export type Key = object;
export type Item = Record<string, unknown>;

export interface BatchGetOptions {
  /** Strongly consistent reads. @default false */
  consistentRead?: boolean;
  /** Requests per chunk of keys, the first one included, before giving up. @default 8 */
  maxRounds?: number;
  /**
   * The wait before retry `n` (1, 2, …) is a random time between 0 and
   * `min(maxDelayMs, baseDelayMs × 2^n)` ("full jitter"). @default 25
   */
  baseDelayMs?: number;
  /** @default 1000 */
  maxDelayMs?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: a number in [0, 1). */
  random?: () => number;
}

/**
 * DynamoDB answered a BatchGetItem without some of the items asked for, and kept doing so. Those
 * items may exist: the read is incomplete and fails, so that its caller is retried (SQS delivers
 * the message again, the API answers 5xx) instead of reading the missing answers as "absent".
 */
export class BatchGetIncompleteError extends Error {
  override name = 'BatchGetIncompleteError';
  constructor(
    readonly tableName: string,
    /** Keys still unprocessed after the last request. */
    readonly unprocessedKeys: number,
    /** Requests made for that chunk of keys. */
    readonly rounds: number,
  ) {
    super(
      `DynamoDB left ${unprocessedKeys} key(s) of ${tableName} unprocessed after ${rounds} BatchGetItem requests`,
    );
  }
}

/**
 * Reads items of one table by key, any number of them, in no particular order; keys without an
 * item are left out, and only those. Keys are read in chunks of 100, duplicates asked once.
 *
 * BatchGetItem may answer with some keys in `UnprocessedKeys` (throttling, a partition busy, 16 MB
 * per answer); they are asked again, with exponential backoff and jitter, at most `maxRounds`
 * requests per chunk. If keys are still unprocessed then, it throws `BatchGetIncompleteError`.
 *
 * The loop over `UnprocessedKeys` is lib-dynamodb's `paginatedBatchGet`, which asks for the
 * unprocessed keys again (as DynamoDB returns them, with `ConsistentRead`) but at once and for as
 * long as any remain; the waits, the bound and the chunks are added here.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: ReadonlyArray<Key>,
  options: BatchGetOptions = {},
): Promise<Item[]> {
  const unique = [...new Map(keys.map((key) => [keyId(key), key])).values()];
  const items: Item[] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX_KEYS)
    items.push(
      ...(await getChunk(client, tableName, unique.slice(i, i + BATCH_GET_MAX_KEYS), options)),
    );
  return items;
}

async function getChunk(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: Key[],
  options: BatchGetOptions,
): Promise<Item[]> {
  const maxRounds = options.maxRounds ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 25;
  const maxDelayMs = options.maxDelayMs ?? 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const items: Item[] = [];
  let rounds = 0;
  const pages = paginatedBatchGet(
    { client },
    {
      RequestItems: {
        [tableName]: {
          Keys: keys as Array<Record<string, unknown>>,
          ...(options.consistentRead ? { ConsistentRead: true } : {}),
        },
      },
    },
  );
  for await (const page of pages) {
    rounds += 1;
    items.push(...(page.Responses?.[tableName] ?? []));
    const left = Object.values(page.UnprocessedKeys ?? {}).reduce(
      (n, table) => n + (table.Keys?.length ?? 0),
      0,
    );
    if (left === 0) break;
    // Leaving the loop early closes the paginator: no further request is made.
    if (rounds >= maxRounds) throw new BatchGetIncompleteError(tableName, left, rounds);
    await sleep(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** rounds));
  }
  return items;
}

/** A key's identity: its attributes in name order (keys are compared, never sent, this way). */
function keyId(key: Key): string {
  return JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
