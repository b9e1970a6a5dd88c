import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  type ActionImages,
  batchGetReadUnits,
  schemaOf,
  type TableSchema,
  transactionWriteUnits,
  type WireItem,
  type WriteAction,
} from './capacity-model';

/**
 * A fault to inject on the wire, in front of an AWS emulator that speaks a JSON protocol
 * (DynamoDB, SQS). Each rule matches requests by operation (the `X-Amz-Target` suffix, e.g.
 * `TransactWriteItems`) and, optionally, by a substring of the request body (a `login_id`, an
 * attribute value), and applies to the next `times` matching requests.
 *
 * - `conflict`: answers `TransactionCanceledException` whose first reason is `TransactionConflict`
 *   (what real DynamoDB answers when two transactions touch one item at once; DynamoDB Local
 *   serialises them instead, so it never does). Nothing is written.
 * - `throttle`: answers `ProvisionedThroughputExceededException` (400). Nothing is written.
 * - `internal`: answers `InternalServerError` (500). Nothing is written.
 * - `lost_answer`: forwards the request (so it takes effect), then answers 500 instead of the
 *   emulator's answer: a write that happened although the caller was told it failed.
 * - `unprocessed`: for `BatchGetItem`, answers 200 with no items and every requested key in
 *   `UnprocessedKeys`, as DynamoDB does when it throttles a batch.
 * - `reset`: destroys the connection without an answer. Nothing is written.
 * - `hang`: never answers (until the caller gives up or dies). Nothing is written.
 */
export type FaultKind =
  | 'conflict'
  | 'throttle'
  | 'internal'
  | 'lost_answer'
  | 'unprocessed'
  | 'reset'
  | 'hang';

export interface FaultRule {
  operation: string;
  /** Only requests whose body contains this text (every one of these texts). */
  contains?: string | string[];
  fault: FaultKind;
  /** How many matching requests fail; @default 1 */
  times?: number;
}

interface ActiveRule extends FaultRule {
  remaining: number;
  hits: number;
}

export interface WireProxyOptions {
  /**
   * DynamoDB: add `"ReturnConsumedCapacity": "INDEXES"` to each request that can report capacity
   * and does not say itself, and sum the `ConsumedCapacity` the answers report (see
   * `consumedCapacity()`). Answers are passed on unchanged, so a caller gets a `ConsumedCapacity`
   * it did not ask for, and nothing else differs.
   *
   * DynamoDB Local under-reports transactions, so each `TransactWriteItems` is also priced by
   * AWS's rules from its items, read (around the caller, strongly consistent) just before and
   * after it (`awsCapacity()`, see `capacity-model.ts`). Those reads make each transaction slower
   * (the burst benchmark: 14 instead of 17 opt-ins/s), hence `setMeasureCapacity()`.
   * @default false
   */
  measureCapacity?: boolean;
}

export interface CapacityUnits {
  read: number;
  write: number;
}

/** The read and write capacity units DynamoDB reported, summed (`WireProxyOptions.measureCapacity`). */
export interface ConsumedCapacityTotals {
  /** By table: the table itself and each secondary index by name. */
  tables: Record<string, { table: CapacityUnits; indexes: Record<string, CapacityUnits> }>;
  /** By operation (`TransactWriteItems`…), tables and indexes together. */
  operations: Record<string, CapacityUnits>;
  /**
   * Answers that reported no capacity, by operation: errors (DynamoDB charges a refused
   * conditional write or a cancelled transaction, but does not say how much) and requests that
   * asked for `NONE`.
   */
  unmeasured: Record<string, number>;
}

/** What went over the wire for one operation, as SQS bills it. */
export interface OperationTraffic {
  /** Requests answered by the emulator (injected faults are not counted here). */
  requests: number;
  /**
   * Requests as SQS bills them: each started 64 KiB of payload is one request. Counted from the
   * larger of the request's and the answer's body, an upper bound of the payload.
   */
  billed64KiB: number;
  /** `ReceiveMessage` answers that held no message (SQS bills them all the same). */
  empty: number;
}

/** The operations that take `ReturnConsumedCapacity`, and whether they read or write. */
const CAPACITY_OPERATIONS: Record<string, 'read' | 'write'> = {
  GetItem: 'read',
  BatchGetItem: 'read',
  Query: 'read',
  Scan: 'read',
  TransactGetItems: 'read',
  PutItem: 'write',
  UpdateItem: 'write',
  DeleteItem: 'write',
  BatchWriteItem: 'write',
  TransactWriteItems: 'write',
};
const CHUNK_BYTES = 64 * 1024;

/**
 * A pass-through HTTP proxy in front of an AWS emulator that counts requests by operation (the
 * `X-Amz-Target` header of the JSON protocols DynamoDB and SQS speak), and can fail chosen requests
 * (see `FaultRule`). It lets the benchmark say how many DynamoDB and SQS calls an opt-in costs, and
 * the fault tests break the wire between the real handlers and the real emulator, without touching
 * either. Rules are set in-process or, for a running local stack, over HTTP:
 * `POST /_faults` with `{ "rules": [FaultRule…] }` (replaces them), `GET /_faults` (rules with
 * their hits), `DELETE /_faults`.
 */
export class WireProxy {
  private readonly counts = new Map<string, number>();
  private rules: ActiveRule[] = [];
  private capacity: ConsumedCapacityTotals = emptyCapacity();
  private aws: ConsumedCapacityTotals = emptyCapacity();
  private readonly schemas = new Map<string, Promise<TableSchema>>();
  private readonly traffics = new Map<string, OperationTraffic>();
  private measuring = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly service: string,
  ) {}

  static async start(
    target: string,
    service: string,
    options: WireProxyOptions = {},
  ): Promise<WireProxy> {
    const upstream = new URL(target);
    let proxy: WireProxy | undefined;
    const server = createServer((req, res) => {
      const self = proxy as WireProxy;
      if (req.url?.startsWith('/_faults')) {
        self.control(req, res);
        return;
      }
      const op =
        String(req.headers['x-amz-target'] ?? 'unknown')
          .split('.')
          .pop() ?? 'unknown';
      self.counts.set(`${service}.${op}`, (self.counts.get(`${service}.${op}`) ?? 0) + 1);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const rule = self.take(op, body);
        if (rule === undefined || rule.fault === 'lost_answer') {
          const sent = self.measuring ? withCapacityRequested(op, body) : body;
          const modelled = self.measuring && op === 'TransactWriteItems';
          const pass = async () => {
            const before = modelled ? await self.imagesBefore(upstream, req, sent) : undefined;
            forward(upstream, req, sent, async (status, headers, answer) => {
              self.record(op, sent, status, answer);
              if (modelled) await self.model(upstream, req, before, status === 200);
              if (self.measuring && op === 'BatchGetItem' && status === 200)
                await self.modelBatchGet(upstream, req, sent, answer);
              if (rule?.fault === 'lost_answer') {
                fail(res, 'internal', body);
                return;
              }
              res.writeHead(status, headers);
              res.end(answer);
            }).on('error', () => res.writeHead(502).end());
          };
          pass().catch(() => res.writeHead(502).end());
          return;
        }
        fail(res, rule.fault, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new WireProxy(server, `http://127.0.0.1:${port}`, service);
    proxy.measuring = options.measureCapacity ?? false;
    return proxy;
  }

  /** Turns `WireProxyOptions.measureCapacity` on or off, for the requests that follow. */
  setMeasureCapacity(on: boolean): void {
    this.measuring = on;
  }

  /** Replaces the fault rules. */
  setFaults(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ ...rule, remaining: rule.times ?? 1, hits: 0 }));
  }

  /** The rules with how often each has fired. */
  faults(): Array<FaultRule & { hits: number; remaining: number }> {
    return this.rules.map((rule) => ({ ...rule }));
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** The DynamoDB capacity the answers reported since the last `reset()` (`measureCapacity`). */
  consumedCapacity(): ConsumedCapacityTotals {
    return structuredClone(this.capacity);
  }

  /**
   * The same, with each `TransactWriteItems` priced by AWS's rules from its items instead of what
   * DynamoDB Local reported (`measureCapacity`; see `capacity-model.ts`).
   */
  awsCapacity(): ConsumedCapacityTotals {
    return structuredClone(this.aws);
  }

  /** Requests the emulator answered, by `<service>.<operation>`, as SQS would bill them. */
  traffic(): Record<string, OperationTraffic> {
    return Object.fromEntries([...this.traffics].map(([op, t]) => [op, { ...t }]));
  }

  /** Clears the counts, the traffic and the capacity (not the fault rules). */
  reset(): void {
    this.counts.clear();
    this.traffics.clear();
    this.capacity = emptyCapacity();
    this.aws = emptyCapacity();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Tallies an answer from the emulator: its size and, for DynamoDB, the capacity it reports. */
  private record(op: string, body: Buffer, status: number, answer: Buffer): void {
    const key = `${this.service}.${op}`;
    const traffic = this.traffics.get(key) ?? { requests: 0, billed64KiB: 0, empty: 0 };
    traffic.requests += 1;
    traffic.billed64KiB += Math.max(
      1,
      Math.ceil(body.length / CHUNK_BYTES),
      Math.ceil(answer.length / CHUNK_BYTES),
    );
    const parsed = parseJson(answer);
    if (op === 'ReceiveMessage' && status === 200) {
      const messages = (parsed as { Messages?: unknown[] } | undefined)?.Messages;
      if (!Array.isArray(messages) || messages.length === 0) traffic.empty += 1;
    }
    this.traffics.set(key, traffic);
    const kind = CAPACITY_OPERATIONS[op];
    if (kind === undefined) return;
    const reported = (parsed as { ConsumedCapacity?: Consumed | Consumed[] } | undefined)
      ?.ConsumedCapacity;
    // Priced by AWS's rules instead: `model` and `modelBatchGet`.
    const totals =
      op === 'TransactWriteItems' || op === 'BatchGetItem'
        ? [this.capacity]
        : [this.capacity, this.aws];
    for (const total of totals) {
      if (reported === undefined) total.unmeasured[op] = (total.unmeasured[op] ?? 0) + 1;
      else
        for (const entry of Array.isArray(reported) ? reported : [reported])
          addCapacity(total, op, kind, entry);
    }
  }

  /** The items a transaction is about to touch, as they are now. */
  private async imagesBefore(
    upstream: URL,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<TransactionImages | undefined> {
    try {
      const parsed = parseJson(body) as { TransactItems?: Array<Record<string, WireAction>> };
      const actions: TransactionImages['actions'] = [];
      for (const item of parsed?.TransactItems ?? []) {
        const [kind, action] = Object.entries(item)[0] ?? [];
        if (kind === undefined || action?.TableName === undefined) return undefined;
        const schema = await this.schemaOf(upstream, req, action.TableName);
        const key = action.Key ?? pick(action.Item ?? {}, schema.keys);
        actions.push({
          kind: kind as WriteAction,
          table: action.TableName,
          key,
          ...(action.Item ? { item: action.Item } : {}),
        });
      }
      return { actions, before: await readItems(upstream, req, actions) };
    } catch {
      return undefined;
    }
  }

  /** Adds a `BatchGetItem`'s read units by AWS's rules (see `batchGetReadUnits`). */
  private async modelBatchGet(
    upstream: URL,
    req: IncomingMessage,
    body: Buffer,
    answer: Buffer,
  ): Promise<void> {
    const op = 'BatchGetItem';
    try {
      const request = parseJson(body) as Parameters<typeof batchGetReadUnits>[0];
      const schemas: Record<string, TableSchema> = {};
      for (const table of Object.keys(request.RequestItems ?? {}))
        schemas[table] = await this.schemaOf(upstream, req, table);
      const units = batchGetReadUnits(
        request,
        parseJson(answer) as Parameters<typeof batchGetReadUnits>[1],
        schemas,
      );
      for (const [table, read] of Object.entries(units))
        addCapacity(this.aws, op, 'read', { TableName: table, CapacityUnits: read });
    } catch {
      this.aws.unmeasured[op] = (this.aws.unmeasured[op] ?? 0) + 1;
    }
  }

  /** Adds a transaction's units by AWS's rules, reading what it wrote. */
  private async model(
    upstream: URL,
    req: IncomingMessage,
    images: TransactionImages | undefined,
    succeeded: boolean,
  ): Promise<void> {
    const op = 'TransactWriteItems';
    if (images === undefined || !succeeded) {
      this.aws.unmeasured[op] = (this.aws.unmeasured[op] ?? 0) + 1;
      return;
    }
    try {
      const updated = images.actions.filter((a) => a.kind === 'Update');
      const after = await readItems(upstream, req, updated);
      const actions: ActionImages[] = images.actions.map((action) => {
        const id = itemId(action.table, action.key);
        const before = images.before.get(id);
        const afterImage =
          action.kind === 'Put'
            ? action.item
            : action.kind === 'Update'
              ? after.get(id)
              : action.kind === 'Delete'
                ? undefined
                : before;
        return {
          kind: action.kind,
          table: action.table,
          ...(before ? { before } : {}),
          ...(afterImage ? { after: afterImage } : {}),
        };
      });
      const schemas: Record<string, TableSchema> = {};
      for (const action of actions)
        schemas[action.table] = await this.schemaOf(upstream, req, action.table);
      const operation = slot(this.aws.operations, op, zero);
      for (const [name, units] of Object.entries(transactionWriteUnits(actions, schemas))) {
        const table = slot(this.aws.tables, name, () => ({ table: zero(), indexes: {} }));
        table.table.write += units.table;
        operation.write += units.table;
        for (const [index, n] of Object.entries(units.indexes)) {
          slot(table.indexes, index, zero).write += n;
          operation.write += n;
        }
      }
    } catch {
      this.aws.unmeasured[op] = (this.aws.unmeasured[op] ?? 0) + 1;
    }
  }

  private schemaOf(upstream: URL, req: IncomingMessage, table: string): Promise<TableSchema> {
    let schema = this.schemas.get(table);
    if (schema === undefined) {
      schema = call(upstream, req, 'DescribeTable', { TableName: table }).then(schemaOf);
      schema.catch(() => this.schemas.delete(table));
      this.schemas.set(table, schema);
    }
    return schema;
  }

  private take(operation: string, body: Buffer): ActiveRule | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        r.operation === operation &&
        [r.contains ?? []].flat().every((text) => body.includes(text)),
    );
    if (rule) {
      rule.remaining -= 1;
      rule.hits += 1;
    }
    return rule;
  }

  private control(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        if (req.method === 'POST') {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            rules?: FaultRule[];
          };
          this.setFaults(parsed.rules ?? []);
        } else if (req.method === 'DELETE') {
          this.setFaults([]);
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ rules: this.faults() }));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (error as Error).message }));
      }
    });
  }
}

/** One action of a `TransactWriteItems` request, as far as the capacity model needs it. */
interface WireAction {
  TableName?: string;
  Key?: WireItem;
  Item?: WireItem;
}

interface TransactionImages {
  actions: Array<{ kind: WriteAction; table: string; key: WireItem; item?: WireItem }>;
  /** The items before, by `itemId`; missing ones are absent. */
  before: Map<string, WireItem>;
}

const itemId = (table: string, key: WireItem) =>
  `${table}|${JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

function pick(item: WireItem, names: string[]): WireItem {
  return Object.fromEntries(names.map((name) => [name, item[name] ?? {}]));
}

/**
 * A DynamoDB request of the proxy's own, straight to the emulator (not counted, no faults),
 * signed as the caller's request was: DynamoDB Local does not check signatures.
 */
function call(upstream: URL, req: IncomingMessage, target: string, payload: unknown) {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  return new Promise<unknown>((resolve, reject) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path: '/',
        headers: {
          ...req.headers,
          'x-amz-target': `DynamoDB_20120810.${target}`,
          'content-length': String(body.length),
        },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const parsed = parseJson(Buffer.concat(chunks));
          if (answer.statusCode === 200) resolve(parsed);
          else reject(new Error(`${target}: ${answer.statusCode}`));
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The items at these keys now, strongly consistent, by `itemId`. */
async function readItems(
  upstream: URL,
  req: IncomingMessage,
  actions: Array<{ table: string; key: WireItem }>,
): Promise<Map<string, WireItem>> {
  const found = new Map<string, WireItem>();
  const byTable = new Map<string, WireItem[]>();
  for (const { table, key } of actions) byTable.set(table, [...(byTable.get(table) ?? []), key]);
  let requestItems: Record<string, unknown> = Object.fromEntries(
    [...byTable].map(([table, keys]) => [table, { Keys: keys, ConsistentRead: true }]),
  );
  while (Object.keys(requestItems).length > 0) {
    const answer = (await call(upstream, req, 'BatchGetItem', { RequestItems: requestItems })) as {
      Responses?: Record<string, WireItem[]>;
      UnprocessedKeys?: Record<string, unknown>;
    };
    for (const [table, items] of Object.entries(answer.Responses ?? {})) {
      // Every key of a table has the same attributes: the item's own make its id.
      const keyNames = Object.keys(byTable.get(table)?.[0] ?? {});
      for (const item of items) found.set(itemId(table, pick(item, keyNames)), item);
    }
    requestItems = answer.UnprocessedKeys ?? {};
  }
  return found;
}

/** The shape of one `ConsumedCapacity` in a DynamoDB answer. */
interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}
interface Consumed extends Capacity {
  TableName?: string;
  Table?: Capacity;
  GlobalSecondaryIndexes?: Record<string, Capacity>;
  LocalSecondaryIndexes?: Record<string, Capacity>;
}

function emptyCapacity(): ConsumedCapacityTotals {
  return { tables: {}, operations: {}, unmeasured: {} };
}

function parseJson(buffer: Buffer): unknown {
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The request with `ReturnConsumedCapacity: INDEXES` added, where it applies and is not set. */
function withCapacityRequested(op: string, body: Buffer): Buffer {
  if (CAPACITY_OPERATIONS[op] === undefined) return body;
  const parsed = parseJson(body);
  if (typeof parsed !== 'object' || parsed === null || 'ReturnConsumedCapacity' in parsed)
    return body;
  return Buffer.from(JSON.stringify({ ...parsed, ReturnConsumedCapacity: 'INDEXES' }), 'utf8');
}

/**
 * Read and write units of one reported figure: as split by DynamoDB when it says, else all of
 * them of the operation's kind (DynamoDB Local reports only `CapacityUnits`).
 */
function unitsOf(capacity: Capacity | undefined, kind: 'read' | 'write'): CapacityUnits {
  if (capacity === undefined) return { read: 0, write: 0 };
  if (capacity.ReadCapacityUnits !== undefined || capacity.WriteCapacityUnits !== undefined)
    return { read: capacity.ReadCapacityUnits ?? 0, write: capacity.WriteCapacityUnits ?? 0 };
  const units = capacity.CapacityUnits ?? 0;
  return kind === 'read' ? { read: units, write: 0 } : { read: 0, write: units };
}

const zero = (): CapacityUnits => ({ read: 0, write: 0 });

/** `record[key]`, made first if missing. */
function slot<T>(record: Record<string, T>, key: string, make: () => T): T {
  const found = record[key];
  if (found !== undefined) return found;
  const made = make();
  record[key] = made;
  return made;
}

function addUnits(to: CapacityUnits, units: CapacityUnits): void {
  to.read += units.read;
  to.write += units.write;
}

function addCapacity(
  totals: ConsumedCapacityTotals,
  op: string,
  kind: 'read' | 'write',
  entry: Consumed,
): void {
  const name = entry.TableName ?? 'unknown';
  const table = slot(totals.tables, name, () => ({ table: zero(), indexes: {} }));
  const operation = slot(totals.operations, op, zero);
  const indexes = { ...entry.GlobalSecondaryIndexes, ...entry.LocalSecondaryIndexes };
  const detailed = entry.Table !== undefined || Object.keys(indexes).length > 0;
  // Without the detail (`TOTAL`), the whole figure is put on the table.
  const own = unitsOf(detailed ? entry.Table : entry, kind);
  addUnits(table.table, own);
  addUnits(operation, own);
  for (const [index, capacity] of Object.entries(indexes)) {
    const units = unitsOf(capacity, kind);
    addUnits(slot(table.indexes, index, zero), units);
    addUnits(operation, units);
  }
}

function forward(
  upstream: URL,
  req: IncomingMessage,
  body: Buffer,
  done: (status: number, headers: IncomingHttpHeaders, answer: Buffer) => void,
) {
  const outgoing = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      // The body may have been changed (measureCapacity): its length is the one sent.
      headers: { ...req.headers, 'content-length': String(body.length) },
    },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => done(answer.statusCode ?? 502, answer.headers, Buffer.concat(chunks)));
    },
  );
  outgoing.end(body);
  return outgoing;
}

const AMZ_JSON = { 'content-type': 'application/x-amz-json-1.0' };

function fail(res: ServerResponse, fault: FaultKind, body: Buffer): void {
  if (fault === 'unprocessed') {
    unprocessed(res, body);
    return;
  }
  if (fault === 'hang') return;
  if (fault === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (fault === 'conflict') {
    let items = 1;
    try {
      items = (JSON.parse(body.toString('utf8')) as { TransactItems?: unknown[] }).TransactItems
        ?.length as number;
    } catch {
      items = 1;
    }
    const reasons = Array.from({ length: Math.max(items, 1) }, (_, i) =>
      i === 0
        ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
        : { Code: 'None' },
    );
    res.writeHead(400, AMZ_JSON);
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        CancellationReasons: reasons,
        Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
      }),
    );
    return;
  }
  if (fault === 'throttle') {
    res.writeHead(400, AMZ_JSON);
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      }),
    );
    return;
  }
  res.writeHead(500, AMZ_JSON);
  res.end(
    JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error (injected)',
    }),
  );
}

/** A BatchGetItem answer that processed nothing: every requested key comes back unprocessed. */
function unprocessed(res: ServerResponse, body: Buffer): void {
  const { RequestItems = {} } = JSON.parse(body.toString('utf8')) as {
    RequestItems?: Record<string, unknown>;
  };
  res.writeHead(200, AMZ_JSON);
  res.end(
    JSON.stringify({
      Responses: Object.fromEntries(Object.keys(RequestItems).map((table) => [table, []])),
      UnprocessedKeys: RequestItems,
    }),
  );
}
