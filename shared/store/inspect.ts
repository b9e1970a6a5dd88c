import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from './batch-get';
import { optinDayKey, type PersonId, type PersonKind, personKey } from './table-definition';

/**
 * Read-only helpers for operators' tools (`lcm`): whole partitions, items by key, and the
 * `byOptinDay` index, day by day. Nothing here writes, and nothing scans the table.
 */

export type Item = Record<string, unknown>;
export interface ItemKey {
  pk: string;
  sk: string;
}

const DAY_MS = 86_400_000;
/** The index of every opt-in by its UTC day (see TABLE_DEFINITION). */
export const BY_OPTIN_DAY = 'byOptinDay';

/** Every item of one partition, in sort-key order (strongly consistent, all pages). */
export async function queryPartition(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Which kinds of identifier a bare id is known as: the `LOGIN#`, `PSID#` and `ASID#` partitions
 * holding at least one item, in that order. One item each is enough to tell.
 */
export async function kindsOf(
  client: DynamoDBDocumentClient,
  tableName: string,
  id: string,
): Promise<PersonKind[]> {
  const kinds: PersonKind[] = ['login', 'psid', 'asid'];
  const found = await Promise.all(
    kinds.map(async (kind) => {
      const { Items } = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': personKey({ kind, id } satisfies PersonId) },
          ProjectionExpression: 'pk',
          Limit: 1,
        }),
      );
      return (Items ?? []).length > 0;
    }),
  );
  return kinds.filter((_, i) => found[i]);
}

/**
 * Items by key, strongly consistent, in no particular order; missing ones are left out. Throws
 * (`BatchGetIncompleteError`) rather than leave out items DynamoDB did not answer for.
 */
export async function getItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  keyList: ItemKey[],
): Promise<Item[]> {
  return batchGetAll(client, tableName, keyList, { consistentRead: true });
}

/**
 * The `byOptinDay` partitions (one per UTC day) from the day holding `fromMs` to the day holding
 * `toMs`, oldest first.
 */
export function optinDayKeysBetween(fromMs: number, toMs: number): string[] {
  const keys: string[] = [];
  for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day <= toMs; day += DAY_MS)
    keys.push(optinDayKey(day));
  return keys;
}

export interface OptinDayQuery {
  /** Opt-ins made at or after this time (epoch ms). */
  sinceMs: number;
  /** Up to this time (epoch ms); the days queried end with the one holding it. */
  untilMs: number;
  status?: string;
  pageId?: string;
  /** Newest first (days from the latest back, each day newest first). @default true */
  newestFirst?: boolean;
}

/**
 * The opt-in records made in a period, read from the sparse `byOptinDay` index one UTC day at a
 * time (a Query per day, never a Scan). Yields one page of items at a time, so a caller that
 * needs only the newest N stops reading early.
 */
export async function* optinsByDay(
  client: DynamoDBDocumentClient,
  tableName: string,
  query: OptinDayQuery,
): AsyncGenerator<Item[]> {
  const newestFirst = query.newestFirst ?? true;
  const days = optinDayKeysBetween(query.sinceMs, query.untilMs);
  if (newestFirst) days.reverse();
  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {
    ':since': new Date(query.sinceMs).toISOString(),
  };
  if (query.status !== undefined) {
    filters.push('#status = :status');
    names['#status'] = 'status';
    values[':status'] = query.status;
  }
  if (query.pageId !== undefined) {
    filters.push('pageId = :pageId');
    values[':pageId'] = query.pageId;
  }
  for (const day of days) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: BY_OPTIN_DAY,
          // listSk starts with the opt-in's ISO time, so the time bound is a key condition.
          KeyConditionExpression: 'listPk = :day AND listSk >= :since',
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: { ...values, ':day': day },
          ScanIndexForward: !newestFirst,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      if ((page.Items ?? []).length > 0) yield page.Items as Item[];
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
