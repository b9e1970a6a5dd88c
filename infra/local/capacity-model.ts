/**
 * Write request units of a `TransactWriteItems` by AWS's published rules, for the benchmark: DynamoDB
 * Local reports a transaction's capacity for its largest item only (checked: four 600-byte puts
 * in one transaction report 2 units; AWS charges 2 per item, 8), so the wire proxy prices
 * transactions from the items themselves, read before and after.
 *
 * - Table: every action (Put, Update, Delete, ConditionCheck) costs 2 units per started KB of the
 *   larger of the item before and after it (a ConditionCheck is billed as a write; a missing item
 *   counts as 1 KB).
 * - Each global secondary index (projection applied): an item entering or leaving it costs one
 *   write of its index entry, an update in place one write, a changed index key a delete and a
 *   put, an unchanged entry nothing. Charged at the standard rate, 1 unit per started KB: AWS
 *   documents the doubling for a transaction's items, not for their index updates.
 */

/** An attribute value in DynamoDB's JSON wire format. */
export interface WireValue {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  L?: WireValue[];
  M?: Record<string, WireValue>;
}
export type WireItem = Record<string, WireValue>;

export interface TableSchema {
  keys: string[];
  indexes: Array<{
    name: string;
    keys: string[];
    projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
    include?: string[];
  }>;
}

export type WriteAction = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';

export interface ActionImages {
  kind: WriteAction;
  table: string;
  before?: WireItem;
  after?: WireItem;
}

export interface WriteUnits {
  table: number;
  indexes: Record<string, number>;
}

const KB = 1024;
const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(value: string): number {
  const digits = value.replace(/^[-+]?0*/, '').replace(/[eE].*$/, '');
  const significant = digits.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(significant.length, 1) / 2) + 1;
}

/** The size DynamoDB bills a value at (AWS's "item sizes and formats"). */
export function valueSize(value: WireValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((n, s) => n + utf8(s), 0);
  if (value.NS) return value.NS.reduce((n, s) => n + numberSize(s), 0);
  if (value.BS) return value.BS.reduce((n, b) => n + Buffer.from(b, 'base64').length, 0);
  if (value.L) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0);
  if (value.M)
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + utf8(k) + valueSize(v), 0);
  return 0;
}

/** An item's size: each attribute's name and value. */
export function itemSize(item: WireItem): number {
  return Object.entries(item).reduce((n, [name, value]) => n + utf8(name) + valueSize(value), 0);
}

const kbOf = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));

function projected(item: WireItem, schema: TableSchema, index: TableSchema['indexes'][number]) {
  if (index.projection === 'ALL') return item;
  const kept = new Set([...schema.keys, ...index.keys, ...(index.include ?? [])]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
}

const inIndex = (item: WireItem | undefined, keys: string[]) =>
  item !== undefined && keys.every((key) => item[key] !== undefined);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The write units of one transaction's actions, by table, table itself and each index. */
export function transactionWriteUnits(
  actions: ActionImages[],
  schemas: Record<string, TableSchema>,
): Record<string, WriteUnits> {
  const units: Record<string, WriteUnits> = {};
  for (const action of actions) {
    const schema = schemas[action.table] ?? { keys: [], indexes: [] };
    const table = units[action.table] ?? { table: 0, indexes: {} };
    units[action.table] = table;
    const before = action.before ? itemSize(action.before) : 0;
    const after = action.after ? itemSize(action.after) : 0;
    table.table += 2 * kbOf(Math.max(before, after));
    if (action.kind === 'ConditionCheck') continue;
    for (const index of schema.indexes) {
      const was = inIndex(action.before, index.keys)
        ? projected(action.before as WireItem, schema, index)
        : undefined;
      const is = inIndex(action.after, index.keys)
        ? projected(action.after as WireItem, schema, index)
        : undefined;
      let writes = 0;
      if (was && is) {
        const keyChanged = index.keys.some((key) => !same(was[key], is[key]));
        if (keyChanged) writes = kbOf(itemSize(was)) + kbOf(itemSize(is));
        else if (!same(was, is)) writes = kbOf(itemSize(is));
      } else if (was) writes = kbOf(itemSize(was));
      else if (is) writes = kbOf(itemSize(is));
      if (writes > 0) table.indexes[index.name] = (table.indexes[index.name] ?? 0) + writes;
    }
  }
  return units;
}

/** A table's keys and indexes from a `DescribeTable` answer. */
export function schemaOf(describe: unknown): TableSchema {
  const table = (describe as { Table?: DescribedTable }).Table ?? {};
  const names = (schema?: Array<{ AttributeName?: string }>) =>
    (schema ?? []).map((k) => String(k.AttributeName));
  return {
    keys: names(table.KeySchema),
    indexes: (table.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: String(index.IndexName),
      keys: names(index.KeySchema),
      projection: index.Projection?.ProjectionType ?? 'ALL',
      ...(index.Projection?.NonKeyAttributes ? { include: index.Projection.NonKeyAttributes } : {}),
    })),
  };
}

interface DescribedTable {
  KeySchema?: Array<{ AttributeName?: string }>;
  GlobalSecondaryIndexes?: Array<{
    IndexName?: string;
    KeySchema?: Array<{ AttributeName?: string }>;
    Projection?: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }>;
}

/**
 * Read request units of a `BatchGetItem` by AWS's rules, per table: each requested key is read as
 * its own GetItem, rounded up to 4 KB, and a key with no item still costs the minimum (AWS: a
 * read of an item that does not exist consumes a strongly consistent read's 1 unit, an eventually
 * consistent one's 0.5). DynamoDB Local reports nothing for keys it did not find.
 */
export function batchGetReadUnits(
  request: { RequestItems?: Record<string, { Keys?: WireItem[]; ConsistentRead?: boolean }> },
  answer: {
    Responses?: Record<string, WireItem[]>;
    UnprocessedKeys?: Record<string, { Keys?: WireItem[] }>;
  },
  schemas: Record<string, TableSchema>,
): Record<string, number> {
  const units: Record<string, number> = {};
  for (const [table, asked] of Object.entries(request.RequestItems ?? {})) {
    const keys = schemas[table]?.keys ?? [];
    const keyOf = (item: WireItem) => JSON.stringify(keys.map((key) => item[key]));
    const found = new Map((answer.Responses?.[table] ?? []).map((item) => [keyOf(item), item]));
    const unprocessed = new Set((answer.UnprocessedKeys?.[table]?.Keys ?? []).map(keyOf));
    const factor = asked.ConsistentRead ? 1 : 0.5;
    let total = 0;
    for (const key of asked.Keys ?? []) {
      if (unprocessed.has(keyOf(key))) continue;
      const item = found.get(keyOf(key));
      total += factor * (item ? Math.max(1, Math.ceil(itemSize(item) / (4 * KB))) : 1);
    }
    units[table] = total;
  }
  return units;
}
