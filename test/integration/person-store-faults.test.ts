import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { WireProxy } from '../../infra/local/wire-proxy';
import { BatchGetIncompleteError } from '../../shared/store/batch-get';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { keys, type PersonId, personKey } from '../../shared/store/table-definition';
import { PAGE_ID, uniqueId } from '../helpers/factories';
import { freshTable } from '../helpers/tables';

/**
 * Reads that fail closed: the person store against DynamoDB Local through the wire proxy, with
 * BatchGetItem answers that leave keys unprocessed, as DynamoDB does when it throttles. A key that
 * was not answered is never read as an item that does not exist.
 */

const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
const T0 = Date.parse('2026-11-21T09:00:00.000Z');
/** More than the store's BatchGet asks for before it gives up. */
const FOREVER = 1000;

let ctx: Awaited<ReturnType<typeof freshTable>>;
let proxy: WireProxy;
let throughProxy: DynamoDBClient;
/** The store under test, reaching DynamoDB Local through the proxy. */
let people: DynamoDbPersonStore;
/** The same store, straight to DynamoDB Local: to set the scene. */
let direct: DynamoDbPersonStore;

const login = (id: string): PersonId => ({ kind: 'login', id });
const psid = (id: string): PersonId => ({ kind: 'psid', id });
const asid = (id: string): PersonId => ({ kind: 'asid', id });
const unprocessed = (times: number) =>
  proxy.setFaults([{ operation: 'BatchGetItem', fault: 'unprocessed', times }]);
const hits = () => proxy.faults()[0]?.hits ?? 0;
const putItem = (item: Record<string, unknown>) =>
  ctx.doc.send(new PutCommand({ TableName: ctx.tableName, Item: item }));
const partitionOf = async (person: PersonId) =>
  (
    await ctx.doc.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': personKey(person) },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];
const exists = async (key: { pk: string; sk: string }) =>
  (await ctx.doc.send(new GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: true })))
    .Item !== undefined;

beforeAll(async () => {
  ctx = await freshTable();
  proxy = await WireProxy.start(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, 'DynamoDB');
  throughProxy = new DynamoDBClient({ endpoint: proxy.url });
  people = new DynamoDbPersonStore(
    DynamoDBDocumentClient.from(throughProxy),
    ctx.tableName,
    RETENTION,
  );
  direct = new DynamoDbPersonStore(ctx.doc, ctx.tableName, RETENTION);
});
afterAll(async () => {
  throughProxy.destroy();
  ctx.raw.destroy();
  await proxy.close();
});
beforeEach(() => {
  proxy.setFaults([]);
  proxy.reset();
});

/** A person known by a login_id and a PSID, suppressed under the login_id only. */
async function suppressedPerson() {
  const [l, p] = [uniqueId('L'), uniqueId('P')];
  await direct.link(login(l), psid(p), { pageId: PAGE_ID }, T0);
  await direct.suppress(
    login(l),
    { source: 'send_api', reason: 'send_api_not_receiving', code: 551 },
    T0,
  );
  // What suppress() wrote under the PSID too is taken back: only the login_id's item remains.
  await ctx.doc.send(
    new DeleteCommand({
      TableName: ctx.tableName,
      Key: keys.suppression(psid(p)),
    }),
  );
  return { l, p };
}

describe('suppressionOf() through unprocessed BatchGetItem answers', () => {
  it('still sees the suppression when the first answers leave every key unprocessed', async () => {
    const { p } = await suppressedPerson();
    unprocessed(3);

    const suppression = await people.suppressionOf(psid(p));

    expect(suppression).toMatchObject({ source: 'send_api', code: 551 });
    expect(hits()).toBe(3);
    expect(proxy.snapshot()['DynamoDB.BatchGetItem']).toBe(4);
  });

  it('throws, rather than answer "not suppressed", when the answers never come', async () => {
    const { p } = await suppressedPerson();
    unprocessed(FOREVER);

    const read = people.suppressionOf(psid(p));

    await expect(read).rejects.toBeInstanceOf(BatchGetIncompleteError);
    await expect(read).rejects.toMatchObject({ name: 'BatchGetIncompleteError', rounds: 8 });
    expect(hits()).toBe(8);
  });

  it('recipientState() (follow-ups, /messages) throws too, rather than report no suppression', async () => {
    const { l } = await suppressedPerson();
    unprocessed(FOREVER);

    await expect(people.recipientState({ loginId: l })).rejects.toThrow(BatchGetIncompleteError);

    proxy.setFaults([]);
    expect((await people.recipientState({ loginId: l })).suppressed).toMatchObject({
      source: 'send_api',
    });
  });

  it('an unsuppressed person still reads as such: absence is read only from an answer', async () => {
    const p = uniqueId('P');
    unprocessed(2);

    expect(await people.suppressionOf(psid(p))).toBeUndefined();
    expect(hits()).toBe(2);
  });
});

describe('erase() through unprocessed BatchGetItem answers', () => {
  /**
   * A person (an ASID linked to a login_id and a PSID) with two follow-up messages: `OUT#`
   * items outside their partitions, reached only through `MSG#` pointers, each with a `MID#`.
   */
  async function personWithFollowups() {
    const [a, l, p] = [uniqueId('A'), uniqueId('L'), uniqueId('P')];
    await direct.link(asid(a), login(l), { pageId: PAGE_ID }, T0);
    await direct.link(login(l), psid(p), { pageId: PAGE_ID }, T0);
    await direct.suppress(psid(p), { source: 'stop', reason: 'stop_notifications' }, T0);
    const outside: Array<{ pk: string; sk: string }> = [];
    for (const [to, id] of [
      [login(l), uniqueId('out')],
      [psid(p), uniqueId('out')],
    ] as const) {
      const mid = uniqueId('m');
      await putItem({ ...keys.outbound(id), type: 'message', status: 'sent', messageId: mid });
      await putItem({ ...keys.sentMessage(to, id), type: 'sent_message', ref: keys.outbound(id) });
      await putItem({ ...keys.mid(mid), type: 'mid', ref: keys.outbound(id) });
      outside.push(keys.outbound(id), keys.mid(mid));
    }
    return { ids: [asid(a), login(l), psid(p)], outside };
  }

  async function remaining(person: Awaited<ReturnType<typeof personWithFollowups>>) {
    let count = 0;
    for (const id of person.ids) count += (await partitionOf(id)).length;
    for (const key of person.outside) if (await exists(key)) count += 1;
    return count;
  }

  it('removes everything when the first answers leave the messages unprocessed', async () => {
    const person = await personWithFollowups();
    const before = await remaining(person);
    unprocessed(2);

    const { deleted } = await people.erase([person.ids[0] as PersonId]);

    expect(hits()).toBe(2);
    expect(before).toBeGreaterThan(8);
    expect(Object.values(deleted).reduce((a, b) => a + b, 0)).toBe(before);
    expect(await remaining(person)).toBe(0);
  });

  it('throws, leaving nothing half done, when the answers never come; a retry then removes everything', async () => {
    const person = await personWithFollowups();
    const before = await remaining(person);
    unprocessed(FOREVER);

    await expect(people.erase([person.ids[0] as PersonId])).rejects.toThrow(
      BatchGetIncompleteError,
    );
    expect(proxy.snapshot()['DynamoDB.BatchWriteItem']).toBeUndefined();
    expect(await remaining(person)).toBe(before);

    proxy.setFaults([]);
    const { deleted } = await people.erase([person.ids[0] as PersonId]);
    expect(Object.values(deleted).reduce((a, b) => a + b, 0)).toBe(before);
    expect(await remaining(person)).toBe(0);
  });
});

describe('applyReceipt() through unprocessed BatchGetItem answers', () => {
  it('finds the message by mid when the first answer leaves the key unprocessed', async () => {
    const [id, mid] = [uniqueId('out'), uniqueId('m')];
    await putItem({ ...keys.outbound(id), type: 'message', status: 'sent', sentAt: iso(T0) });
    await putItem({ ...keys.mid(mid), type: 'mid', ref: keys.outbound(id) });
    unprocessed(1);

    const updated = await people.applyReceipt({ kind: 'delivered', mids: [mid] });

    expect(updated).toBe(1);
    expect(hits()).toBe(1);
  });

  it('throws when the answer never comes, so the receipt is delivered again', async () => {
    unprocessed(FOREVER);

    await expect(
      people.applyReceipt({ kind: 'read', mids: [uniqueId('m')], psid: uniqueId('P') }),
    ).rejects.toThrow(BatchGetIncompleteError);
  });
});

function iso(ms: number) {
  return new Date(ms).toISOString();
}
