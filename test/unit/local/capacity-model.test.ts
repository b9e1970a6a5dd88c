import {
  batchGetReadUnits,
  itemSize,
  schemaOf,
  type TableSchema,
  transactionWriteUnits,
  valueSize,
  type WireItem,
  type WriteUnits,
} from '../../../infra/local/capacity-model';

const SCHEMA: TableSchema = {
  keys: ['pk', 'sk'],
  indexes: [
    { name: 'byDay', keys: ['listPk', 'listSk'], projection: 'ALL' },
    { name: 'pending', keys: ['sweepPk', 'sweepAt'], projection: 'KEYS_ONLY' },
  ],
};
const S = (text: string) => ({ S: text });
const item = (extra: WireItem = {}): WireItem => ({ pk: S('LOGIN#1'), sk: S('OPTIN'), ...extra });
const units = (actions: Parameters<typeof transactionWriteUnits>[0]) =>
  transactionWriteUnits(actions, { t: SCHEMA }).t as WriteUnits;

describe('item sizes (AWS: names + values)', () => {
  it('sizes strings, numbers, booleans, lists and maps', () => {
    expect(valueSize(S('héllo'))).toBe(6);
    expect(valueSize({ N: '12345' })).toBe(4);
    expect(valueSize({ N: '1000' })).toBe(2);
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ L: [S('ab'), { N: '1' }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(valueSize({ M: { a: S('xy') } })).toBe(3 + 1 + 1 + 2);
    expect(itemSize({ pk: S('LOGIN#1'), n: { N: '7' } })).toBe(2 + 7 + 1 + 2);
  });
});

describe('transactionWriteUnits (AWS rules)', () => {
  it('charges 2 units per started KB of every item, ConditionChecks included', () => {
    const small = item();
    const big = item({ blob: S('x'.repeat(1500)) });

    expect(
      units([
        { kind: 'Put', table: 't', after: small },
        { kind: 'Put', table: 't', after: small },
        { kind: 'ConditionCheck', table: 't' },
        { kind: 'Update', table: 't', before: big, after: small },
      ]),
    ).toEqual({ table: 2 + 2 + 2 + 4, indexes: {} });
  });

  it('charges index writes at 1 unit per KB: entering, leaving, in place, key changed, unchanged', () => {
    const listed = item({ listPk: S('D1'), listSk: S('a') });
    const listedMore = { ...listed, status: S('sent') };
    const sweeping = item({ sweepPk: S('P'), sweepAt: S('t1') });

    expect(units([{ kind: 'Put', table: 't', after: listed }]).indexes).toEqual({ byDay: 1 });
    expect(units([{ kind: 'Delete', table: 't', before: listed }]).indexes).toEqual({ byDay: 1 });
    expect(
      units([{ kind: 'Update', table: 't', before: listed, after: listedMore }]).indexes,
    ).toEqual({ byDay: 1 });
    expect(
      units([
        {
          kind: 'Update',
          table: 't',
          before: sweeping,
          after: { ...sweeping, sweepAt: S('t2') },
        },
      ]).indexes,
    ).toEqual({ pending: 2 });
    // KEYS_ONLY: a change outside the keys leaves the index entry as it is.
    expect(
      units([
        { kind: 'Update', table: 't', before: sweeping, after: { ...sweeping, n: { N: '1' } } },
      ]).indexes,
    ).toEqual({});
    expect(units([{ kind: 'ConditionCheck', table: 't', before: listed }]).indexes).toEqual({});
  });

  it('reads a schema from a DescribeTable answer', () => {
    expect(
      schemaOf({
        Table: {
          KeySchema: [{ AttributeName: 'pk' }, { AttributeName: 'sk' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byDay',
              KeySchema: [{ AttributeName: 'listPk' }, { AttributeName: 'listSk' }],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        },
      }),
    ).toEqual({
      keys: ['pk', 'sk'],
      indexes: [{ name: 'byDay', keys: ['listPk', 'listSk'], projection: 'ALL' }],
    });
  });
});

describe('batchGetReadUnits() (AWS: each key a GetItem, a missing item the minimum)', () => {
  const key = (sk: string): WireItem => ({ pk: S('LOGIN#1'), sk: S(sk) });

  it('charges a strongly consistent read 1 unit per key found or not, and per started 4 KB', () => {
    const big = { ...key('LOCK'), blob: S('x'.repeat(5000)) };

    const read = batchGetReadUnits(
      {
        RequestItems: {
          t: { Keys: [key('LOCK'), key('SUPPRESSION'), key('TOMBSTONE')], ConsistentRead: true },
        },
      },
      { Responses: { t: [big] } },
      { t: SCHEMA },
    );

    expect(read).toEqual({ t: 2 + 1 + 1 });
  });

  it('charges half for eventually consistent reads and nothing for keys left unprocessed', () => {
    const read = batchGetReadUnits(
      { RequestItems: { t: { Keys: [key('A'), key('B')] } } },
      { Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [key('B')] } } },
      { t: SCHEMA },
    );

    expect(read).toEqual({ t: 0.5 });
  });
});
