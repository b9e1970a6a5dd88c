import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchGetIncompleteError, batchGetAll } from '../../../shared/store/batch-get';

const TABLE = 'lcm-test';
const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const key = (n: number) => ({ pk: `LOGIN#${n}`, sk: 'SUPPRESSION' });
const item = (n: number) => ({ ...key(n), source: 'api', reason: `r${n}` });

/** Sleeps recorded instead of waited. */
let waits: number[];
const options = {
  sleep: async (ms: number) => {
    waits.push(ms);
  },
  random: () => 0.999_999,
};

const requestedKeys = (call: number) =>
  ddb.commandCalls(BatchGetCommand)[call]?.args[0].input.RequestItems?.[TABLE];

beforeEach(() => {
  ddb.reset();
  waits = [];
});

describe('batchGetAll', () => {
  it('asks again for the keys DynamoDB left unprocessed, consistently, after a wait', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [item(1)] },
        UnprocessedKeys: { [TABLE]: { Keys: [key(2), key(3)], ConsistentRead: true } },
      })
      .resolvesOnce({ Responses: { [TABLE]: [item(3)] }, UnprocessedKeys: {} });

    const items = await batchGetAll(client, TABLE, [key(1), key(2), key(3)], {
      ...options,
      consistentRead: true,
    });

    // Key 2 has no item: it was processed the second time and is absent, not unanswered.
    expect(items).toEqual([item(1), item(3)]);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    expect(requestedKeys(0)).toEqual({ Keys: [key(1), key(2), key(3)], ConsistentRead: true });
    expect(requestedKeys(1)).toEqual({ Keys: [key(2), key(3)], ConsistentRead: true });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(50);
  });

  it('throws a named error, never a partial answer, when keys stay unprocessed', async () => {
    ddb.on(BatchGetCommand).callsFake((input) => ({
      Responses: { [TABLE]: [] },
      UnprocessedKeys: input.RequestItems,
    }));

    const read = batchGetAll(client, TABLE, [key(1), key(2)], { ...options, maxRounds: 5 });

    await expect(read).rejects.toBeInstanceOf(BatchGetIncompleteError);
    await expect(read).rejects.toMatchObject({
      name: 'BatchGetIncompleteError',
      tableName: TABLE,
      unprocessedKeys: 2,
      rounds: 5,
    });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(5);
    // Exponential backoff with full jitter (random() ≈ 1 here: the upper bounds).
    expect(waits.map(Math.round)).toEqual([50, 100, 200, 400]);
  });

  it('caps the wait and stops after 8 requests by default', async () => {
    ddb.on(BatchGetCommand).callsFake((input) => ({ UnprocessedKeys: input.RequestItems }));

    await expect(batchGetAll(client, TABLE, [key(1)], options)).rejects.toThrow(
      /1 key\(s\) of lcm-test unprocessed after 8 BatchGetItem requests/,
    );
    expect(waits.map(Math.round)).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('reads any number of keys in chunks of at most 100, each key once', async () => {
    ddb.on(BatchGetCommand).callsFake((input) => ({
      Responses: {
        [TABLE]: input.RequestItems[TABLE].Keys.map((k: { pk: string }) =>
          item(Number(k.pk.slice(6))),
        ),
      },
    }));
    const keys = Array.from({ length: 250 }, (_, i) => key(i));

    const items = await batchGetAll(
      client,
      TABLE,
      [...keys, key(7), { sk: 'SUPPRESSION', pk: 'LOGIN#8' }],
      options,
    );

    const sizes = ddb
      .commandCalls(BatchGetCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]?.Keys?.length);
    expect(sizes).toEqual([100, 100, 50]);
    expect(items).toHaveLength(250);
    expect(new Set(items.map((i) => i.pk)).size).toBe(250);
    expect(waits).toEqual([]);
  });

  it('retries within each chunk on its own', async () => {
    let calls = 0;
    ddb.on(BatchGetCommand).callsFake((input) => {
      calls += 1;
      const asked = input.RequestItems[TABLE].Keys as Array<{ pk: string }>;
      // The second request (the second chunk's first) leaves its last key unprocessed.
      const [done, left] = calls === 2 ? [asked.slice(0, -1), asked.slice(-1)] : [asked, []];
      return {
        Responses: { [TABLE]: done.map((k) => item(Number(k.pk.slice(6)))) },
        ...(left.length > 0 ? { UnprocessedKeys: { [TABLE]: { Keys: left } } } : {}),
      };
    });

    const items = await batchGetAll(
      client,
      TABLE,
      Array.from({ length: 150 }, (_, i) => key(i)),
      options,
    );

    expect(items).toHaveLength(150);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(3);
    expect(requestedKeys(2)).toEqual({ Keys: [key(149)] });
  });

  it('makes no request for no keys', async () => {
    expect(await batchGetAll(client, TABLE, [], options)).toEqual([]);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
  });
});
