import { createServer, type Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { WireProxy } from '../../infra/local/wire-proxy';
import { uniqueId } from '../helpers/factories';
import { freshTable } from '../helpers/tables';

/**
 * The wire proxy in front of DynamoDB Local: each fault does what its doc comment says, rules
 * match by operation, body text and count, and the `/_faults` control works over HTTP.
 */

let ctx: Awaited<ReturnType<typeof freshTable>>;
let proxy: WireProxy;
/** Through the proxy, one attempt per call: every injected fault reaches the test. */
let once: DynamoDBDocumentClient;
/** Through the proxy, with the SDK's default retries (3 attempts). */
let retrying: DynamoDBDocumentClient;
const raws: DynamoDBClient[] = [];

function through(url: string, maxAttempts?: number): DynamoDBDocumentClient {
  const raw = new DynamoDBClient({ endpoint: url, ...(maxAttempts ? { maxAttempts } : {}) });
  raws.push(raw);
  return DynamoDBDocumentClient.from(raw);
}

/** The item as DynamoDB Local holds it, read around the proxy. */
const stored = async (pk: string) =>
  (
    await ctx.doc.send(
      new GetCommand({ TableName: ctx.tableName, Key: { pk, sk: 'X' }, ConsistentRead: true }),
    )
  ).Item;
const put = (pk: string, extra: Record<string, unknown> = {}) =>
  new PutCommand({ TableName: ctx.tableName, Item: { pk, sk: 'X', ...extra } });
const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
};

beforeAll(async () => {
  ctx = await freshTable();
  proxy = await WireProxy.start(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, 'DynamoDB');
  once = through(proxy.url, 1);
  retrying = through(proxy.url);
});
afterAll(async () => {
  for (const raw of raws) raw.destroy();
  ctx.raw.destroy();
  await proxy.close();
});
beforeEach(() => {
  proxy.setFaults([]);
  proxy.reset();
});

describe('WireProxy in front of DynamoDB Local', () => {
  it('passes requests through and counts them by operation', async () => {
    const pk = uniqueId('pass');
    await once.send(put(pk, { n: 1 }));
    const { Item } = await once.send(
      new GetCommand({ TableName: ctx.tableName, Key: { pk, sk: 'X' } }),
    );

    expect(Item).toEqual({ pk, sk: 'X', n: 1 });
    expect(proxy.snapshot()).toEqual({ 'DynamoDB.PutItem': 1, 'DynamoDB.GetItem': 1 });
  });

  it('conflict: cancels a transaction with a TransactionConflict reason, and writes nothing', async () => {
    const [a, b] = [uniqueId('conflict'), uniqueId('conflict')];
    proxy.setFaults([{ operation: 'TransactWriteItems', fault: 'conflict' }]);

    const error = await rejection(
      once.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: ctx.tableName, Item: { pk: a, sk: 'X' } } },
            { Put: { TableName: ctx.tableName, Item: { pk: b, sk: 'X' } } },
          ],
        }),
      ),
    );

    expect(error.name).toBe('TransactionCanceledException');
    expect(error.CancellationReasons).toEqual([
      expect.objectContaining({ Code: 'TransactionConflict' }),
      { Code: 'None' },
    ]);
    expect(await stored(a)).toBeUndefined();
    expect(await stored(b)).toBeUndefined();
  });

  it('throttle: answers ProvisionedThroughputExceededException, and writes nothing', async () => {
    const pk = uniqueId('throttle');
    proxy.setFaults([{ operation: 'PutItem', fault: 'throttle' }]);

    const error = await rejection(once.send(put(pk)));

    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(await stored(pk)).toBeUndefined();
  });

  it('throttle and internal: the SDK retries them by itself, so `times` below its attempts passes', async () => {
    const [p1, p2] = [uniqueId('retried'), uniqueId('retried')];
    proxy.setFaults([
      { operation: 'PutItem', contains: p1, fault: 'throttle', times: 2 },
      { operation: 'PutItem', contains: p2, fault: 'internal', times: 2 },
    ]);

    await retrying.send(put(p1));
    await retrying.send(put(p2));

    expect(await stored(p1)).toBeDefined();
    expect(await stored(p2)).toBeDefined();
    expect(proxy.faults().map((rule) => rule.hits)).toEqual([2, 2]);
    expect(proxy.snapshot()['DynamoDB.PutItem']).toBe(6);
  });

  it('internal: answers 500 InternalServerError, and writes nothing', async () => {
    const pk = uniqueId('internal');
    proxy.setFaults([{ operation: 'PutItem', fault: 'internal' }]);

    const error = await rejection(once.send(put(pk)));

    expect(error.name).toBe('InternalServerError');
    expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(500);
    expect(await stored(pk)).toBeUndefined();
  });

  it('lost_answer: the write happens, but the client is told it failed', async () => {
    const pk = uniqueId('lost');
    proxy.setFaults([{ operation: 'PutItem', fault: 'lost_answer' }]);

    const error = await rejection(once.send(put(pk, { n: 7 })));

    expect(error.name).toBe('InternalServerError');
    expect(await stored(pk)).toEqual({ pk, sk: 'X', n: 7 });
  });

  it('unprocessed: a BatchGetItem answers 200 with no items and every key unprocessed', async () => {
    const [a, b] = [uniqueId('batch'), uniqueId('batch')];
    await ctx.doc.send(put(a));
    await ctx.doc.send(put(b));
    proxy.setFaults([{ operation: 'BatchGetItem', fault: 'unprocessed' }]);
    const keys = [
      { pk: a, sk: 'X' },
      { pk: b, sk: 'X' },
    ];
    const ask = () =>
      once.send(
        new BatchGetCommand({
          RequestItems: { [ctx.tableName]: { Keys: keys, ConsistentRead: true } },
        }),
      );

    const first = await ask();
    const second = await ask();

    expect(first.Responses).toEqual({ [ctx.tableName]: [] });
    expect(first.UnprocessedKeys).toEqual({
      [ctx.tableName]: { Keys: keys, ConsistentRead: true },
    });
    expect(second.Responses?.[ctx.tableName]).toHaveLength(2);
    expect(second.UnprocessedKeys ?? {}).toEqual({});
  });

  it('reset: drops the connection without an answer, and writes nothing', async () => {
    const pk = uniqueId('reset');
    proxy.setFaults([{ operation: 'PutItem', fault: 'reset' }]);

    const error = await rejection(once.send(put(pk)));

    // No HTTP answer at all, unlike the faults above.
    expect((error.$metadata as { httpStatusCode?: number }).httpStatusCode).toBeUndefined();
    expect(String(error.code ?? error.message)).toMatch(/ECONNRESET|socket hang up/);
    expect(await stored(pk)).toBeUndefined();
  });

  it('matches by operation, by `contains`, and for `times` requests only', async () => {
    const [target, other] = [uniqueId('target'), uniqueId('other')];
    proxy.setFaults([{ operation: 'PutItem', contains: target, fault: 'throttle', times: 2 }]);

    await once.send(put(other));
    await once.send(new GetCommand({ TableName: ctx.tableName, Key: { pk: target, sk: 'X' } }));
    const first = await rejection(once.send(put(target, { n: 1 })));
    const second = await rejection(once.send(put(target, { n: 2 })));
    await once.send(put(target, { n: 3 }));

    expect([first.name, second.name]).toEqual([
      'ProvisionedThroughputExceededException',
      'ProvisionedThroughputExceededException',
    ]);
    expect(await stored(other)).toBeDefined();
    expect(await stored(target)).toMatchObject({ n: 3 });
    expect(proxy.faults()).toEqual([
      {
        operation: 'PutItem',
        contains: target,
        fault: 'throttle',
        times: 2,
        hits: 2,
        remaining: 0,
      },
    ]);
  });

  it('takes its rules over HTTP: POST, GET and DELETE /_faults', async () => {
    const pk = uniqueId('http');
    const control = async (method: string, body?: string) => {
      const response = await fetch(`${proxy.url}/_faults`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    const set = await control(
      'POST',
      JSON.stringify({ rules: [{ operation: 'PutItem', contains: pk, fault: 'internal' }] }),
    );
    const error = await rejection(once.send(put(pk)));
    const listed = await control('GET');
    const bad = await control('POST', '{not json');
    const cleared = await control('DELETE');
    await once.send(put(pk));

    expect(set).toEqual({
      status: 200,
      json: {
        rules: [{ operation: 'PutItem', contains: pk, fault: 'internal', hits: 0, remaining: 1 }],
      },
    });
    expect(error.name).toBe('InternalServerError');
    expect(listed.json.rules).toEqual([expect.objectContaining({ hits: 1, remaining: 0 })]);
    expect(bad.status).toBe(400);
    expect(cleared.json).toEqual({ rules: [] });
    expect(await stored(pk)).toBeDefined();
    // The control requests are not DynamoDB requests.
    expect(proxy.snapshot()).toEqual({ 'DynamoDB.PutItem': 2 });
  });
});

describe('WireProxy with measureCapacity', () => {
  let measuring: WireProxy;
  let client: DynamoDBDocumentClient;
  beforeAll(async () => {
    measuring = await WireProxy.start(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, 'DynamoDB', {
      measureCapacity: true,
    });
    client = through(measuring.url, 1);
  });
  afterAll(() => measuring.close());
  beforeEach(() => measuring.reset());

  it('asks for INDEXES capacity, sums it by table, index and operation, and passes answers on', async () => {
    const pk = uniqueId('cap');
    // 2 KB in the table and in the byOptinDay index (its keys are set), none in `pending`.
    const big = 'x'.repeat(1500);
    await client.send(put(pk, { listPk: 'OPTINS#2026-01-01', listSk: pk, big }));
    const { Item, ConsumedCapacity } = await client.send(
      new GetCommand({ TableName: ctx.tableName, Key: { pk, sk: 'X' }, ConsistentRead: true }),
    );
    await client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: 'byOptinDay',
        KeyConditionExpression: 'listPk = :day',
        ExpressionAttributeValues: { ':day': 'OPTINS#2026-01-01' },
      }),
    );

    const capacity = measuring.consumedCapacity();
    expect(Item).toMatchObject({ pk, big });
    // The answer carries what the proxy asked for; the caller may ignore it.
    expect(ConsumedCapacity).toMatchObject({ TableName: ctx.tableName });
    expect(capacity.tables[ctx.tableName]?.table).toEqual({ read: 1, write: 2 });
    expect(capacity.tables[ctx.tableName]?.indexes.byOptinDay?.write).toBe(2);
    expect(capacity.tables[ctx.tableName]?.indexes.byOptinDay?.read).toBeGreaterThan(0);
    expect(capacity.tables[ctx.tableName]?.indexes.pending).toBeUndefined();
    expect(capacity.operations.PutItem).toEqual({ read: 0, write: 4 });
    expect(capacity.operations.GetItem).toEqual({ read: 1, write: 0 });
    expect(capacity.unmeasured).toEqual({});
  });

  it('leaves a request that says how much capacity it wants as it is', async () => {
    const pk = uniqueId('cap');
    const answer = await client.send(put(pk));
    const total = await client.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: { pk, sk: 'X' },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': 1 },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const none = await client.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: { pk, sk: 'X' },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: { ':n': 2 },
        ReturnConsumedCapacity: 'NONE',
      }),
    );

    expect(answer.ConsumedCapacity).toMatchObject({ Table: { CapacityUnits: 1 } });
    expect(total.ConsumedCapacity).toEqual({ TableName: ctx.tableName, CapacityUnits: 1 });
    expect(none.ConsumedCapacity).toBeUndefined();
    const capacity = measuring.consumedCapacity();
    expect(capacity.operations).toEqual({
      PutItem: { read: 0, write: 1 },
      UpdateItem: { read: 0, write: 1 },
    });
    expect(capacity.unmeasured).toEqual({ UpdateItem: 1 });
  });

  it('prices a transaction by AWS rules from its items: DynamoDB Local reports the largest only', async () => {
    const [a, b, c, d] = [uniqueId('tx'), uniqueId('tx'), uniqueId('tx'), uniqueId('tx')];
    await ctx.doc.send(put(d, { listPk: 'OPTINS#2026-01-02', listSk: d }));

    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: ctx.tableName, Item: { pk: a, sk: 'X', p: 'x'.repeat(600) } } },
          { Put: { TableName: ctx.tableName, Item: { pk: b, sk: 'X', p: 'x'.repeat(600) } } },
          {
            ConditionCheck: {
              TableName: ctx.tableName,
              Key: { pk: c, sk: 'X' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: ctx.tableName,
              Key: { pk: d, sk: 'X' },
              UpdateExpression: 'SET sweepPk = :p, sweepAt = :t',
              ExpressionAttributeValues: { ':p': 'PENDING', ':t': '2026-01-02T00:00:00Z' },
            },
          },
        ],
      }),
    );

    const reported = measuring.consumedCapacity().tables[ctx.tableName];
    const aws = measuring.awsCapacity().tables[ctx.tableName];
    expect(reported?.table.write).toBeLessThan(8);
    // 4 items × 2; d updated in place in byOptinDay and entering pending.
    expect(aws).toEqual({
      table: { read: 0, write: 8 },
      indexes: { byOptinDay: { read: 0, write: 1 }, pending: { read: 0, write: 1 } },
    });
    expect(measuring.awsCapacity().unmeasured).toEqual({});
    // The proxy's own reads are not the caller's requests.
    expect(measuring.snapshot()).toEqual({ 'DynamoDB.TransactWriteItems': 1 });
  });

  it('measures nothing while turned off', async () => {
    measuring.setMeasureCapacity(false);
    try {
      const answer = await client.send(put(uniqueId('off')));

      expect(answer.ConsumedCapacity).toBeUndefined();
      expect(measuring.consumedCapacity()).toEqual({
        tables: {},
        operations: {},
        unmeasured: { PutItem: 1 },
      });
    } finally {
      measuring.setMeasureCapacity(true);
    }
  });

  it('counts a refused write as unmeasured: DynamoDB does not report what it charged', async () => {
    const pk = uniqueId('cap');
    await ctx.doc.send(put(pk));

    const error = await rejection(
      client.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { pk, sk: 'X' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );

    expect(error.name).toBe('ConditionalCheckFailedException');
    expect(measuring.consumedCapacity()).toEqual({
      tables: {},
      operations: {},
      unmeasured: { PutItem: 1 },
    });
    expect(measuring.traffic()['DynamoDB.PutItem']).toEqual({
      requests: 1,
      billed64KiB: 1,
      empty: 0,
    });
  });
});

describe('WireProxy traffic, as SQS bills it', () => {
  /** An upstream that answers ReceiveMessage with `answers` in turn, anything else with `{}`. */
  let upstream: Server;
  let sqsProxy: WireProxy;
  const answers: unknown[] = [];
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const receive = String(req.headers['x-amz-target']).endsWith('ReceiveMessage');
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(receive ? (answers.shift() ?? {}) : {}));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = upstream.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    sqsProxy = await WireProxy.start(`http://127.0.0.1:${port}`, 'SQS');
  });
  afterAll(async () => {
    await sqsProxy.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const call = (target: string, body: string) =>
    fetch(sqsProxy.url, {
      method: 'POST',
      headers: {
        'x-amz-target': `AmazonSQS.${target}`,
        'content-type': 'application/x-amz-json-1.0',
      },
      body,
    });

  it('counts each started 64 KiB of a request or its answer as a request, and empty receives', async () => {
    const body = (bytes: number) => 'b'.repeat(bytes);
    answers.push({}, { Messages: [] }, { Messages: [{ MessageId: '1', Body: body(70_000) }] });

    await call(
      'SendMessageBatch',
      JSON.stringify({ Entries: [{ Id: '1', MessageBody: body(140_000) }] }),
    );
    await call(
      'SendMessageBatch',
      JSON.stringify({ Entries: [{ Id: '1', MessageBody: 'small' }] }),
    );
    for (let i = 0; i < 3; i += 1) await call('ReceiveMessage', '{}');

    expect(sqsProxy.traffic()).toEqual({
      'SQS.SendMessageBatch': { requests: 2, billed64KiB: 3 + 1, empty: 0 },
      'SQS.ReceiveMessage': { requests: 3, billed64KiB: 1 + 1 + 2, empty: 2 },
    });
    expect(sqsProxy.snapshot()).toEqual({ 'SQS.SendMessageBatch': 2, 'SQS.ReceiveMessage': 3 });
    sqsProxy.reset();
    expect(sqsProxy.traffic()).toEqual({});
  });
});
