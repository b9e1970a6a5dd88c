import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { keys, type PersonId } from '../../shared/store/table-definition';
import { HOUR_MS, PAGE_ID, uniqueId } from '../helpers/factories';
import { freshTable, optinItem } from '../helpers/tables';

const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
const T0 = Date.parse('2026-11-21T09:00:00.000Z');

let ctx: Awaited<ReturnType<typeof freshTable>>;
let people: DynamoDbPersonStore;
let optins: DynamoDbOptinStore;
const unique = uniqueId;
const login = (id: string): PersonId => ({ kind: 'login', id });
const psid = (id: string): PersonId => ({ kind: 'psid', id });
const asid = (id: string): PersonId => ({ kind: 'asid', id });
const get = async (key: { pk: string; sk: string }) =>
  (
    await ctx.doc.send(
      new (
        await import('@aws-sdk/lib-dynamodb')
      ).GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: true }),
    )
  ).Item;

/** A first message sent through the opt-in store, as the sender records it. */
async function sendFirstMessage(
  loginId: string,
  sent: { messageId: string; recipientId?: string },
  atMs = T0,
) {
  const claimed = await optins.claim(
    { loginId, pageId: PAGE_ID, optinAtMs: atMs, receivedAtMs: atMs, source: 'webhook' },
    atMs,
    35_000,
  );
  if (claimed.outcome !== 'claimed') throw new Error('not claimed');
  await optins.markSent(claimed.claim, sent, atMs + 100);
}

beforeAll(async () => {
  ctx = await freshTable();
  people = new DynamoDbPersonStore(ctx.doc, ctx.tableName, RETENTION);
  optins = new DynamoDbOptinStore(ctx.doc, ctx.tableName, RETENTION);
});
afterAll(() => ctx.raw.destroy());

describe('DynamoDbPersonStore', () => {
  describe('identity()', () => {
    it('finds every identifier of a person from any one of them', async () => {
      const [l1, l2, p1, a1] = [unique('L'), unique('L'), unique('P'), unique('A')];
      await people.link(login(l1), asid(a1), { pageId: PAGE_ID }, T0);
      await people.link(login(l2), asid(a1), { pageId: '2' }, T0);
      await people.link(login(l1), psid(p1), { pageId: PAGE_ID }, T0);

      const ids = (await people.identity(psid(p1))).ids.map((id) => `${id.kind}:${id.id}`).sort();

      expect(ids).toEqual([`asid:${a1}`, `login:${l1}`, `login:${l2}`, `psid:${p1}`].sort());
    });
  });

  describe('suppress() and lift()', () => {
    it('suppresses the person under every linked identifier, through every Page', async () => {
      const [l1, l2, a1] = [unique('L'), unique('L'), unique('A')];
      await people.link(login(l1), asid(a1), {}, T0);
      await people.link(login(l2), asid(a1), {}, T0);

      const written = await people.suppress(
        asid(a1),
        { source: 'api', reason: 'asked by phone' },
        T0,
      );

      expect(written).toHaveLength(3);
      expect(await get(keys.suppression(login(l2)))).toMatchObject({
        type: 'suppression',
        source: 'api',
        reason: 'asked by phone',
        loginId: l2,
      });
    });

    it('never lets a STOP replace a stronger suppression, but lets anything replace a STOP', async () => {
      const [l1, l2] = [unique('L'), unique('L')];
      await people.suppress(
        login(l1),
        { source: 'send_api', reason: 'send_api_not_receiving', code: 551 },
        T0,
      );
      await people.suppress(login(l1), { source: 'stop', reason: 'stop_notifications' }, T0 + 1);
      await people.suppress(login(l2), { source: 'stop', reason: 'stop_notifications' }, T0);
      await people.suppress(login(l2), { source: 'api', reason: 'request' }, T0 + 1);

      expect(await get(keys.suppression(login(l1)))).toMatchObject({
        source: 'send_api',
        code: 551,
      });
      expect(await get(keys.suppression(login(l2)))).toMatchObject({ source: 'api' });
    });

    it('lifts only suppressions from the given source (RESUME lifts STOP, nothing else)', async () => {
      const [l1, p1, l2] = [unique('L'), unique('P'), unique('L')];
      await people.link(login(l1), psid(p1), {}, T0);
      await people.suppress(psid(p1), { source: 'stop', reason: 'stop_notifications' }, T0);
      await people.suppress(login(l2), { source: 'api', reason: 'request' }, T0);

      const lifted = await people.lift(psid(p1), 'stop', T0 + 1);
      const kept = await people.lift(login(l2), 'stop', T0 + 1);

      expect(lifted).toHaveLength(2);
      expect(await people.suppressionOf(login(l1))).toBeUndefined();
      expect(kept).toHaveLength(0);
      expect(await people.suppressionOf(login(l2))).toMatchObject({ source: 'api' });
    });
  });

  describe('recordUserMessage()', () => {
    it('opens the 24 h window from the message and moves it only forward', async () => {
      const p = unique('P');

      await people.recordUserMessage({ psid: p, pageId: PAGE_ID, atMs: T0 }, T0);
      await people.recordUserMessage({ psid: p, pageId: PAGE_ID, atMs: T0 + HOUR_MS }, T0);
      await people.recordUserMessage({ psid: p, pageId: PAGE_ID, atMs: T0 + 10 }, T0);

      expect(await get(keys.profile(p))).toMatchObject({
        type: 'person',
        psid: p,
        pageId: PAGE_ID,
        lastUserMessageAt: new Date(T0 + HOUR_MS).toISOString(),
        windowEndsAt: new Date(T0 + 25 * HOUR_MS).toISOString(),
      });
    });

    it('links the PSID and the login_id both ways on a reply to the first message', async () => {
      const [l, p] = [unique('L'), unique('P')];
      await sendFirstMessage(l, { messageId: unique('m') });

      await people.recordUserMessage(
        { psid: p, pageId: PAGE_ID, atMs: T0 + 1000, priorLoginId: l },
        T0 + 1000,
      );

      expect(await get(keys.profile(p))).toMatchObject({ loginId: l });
      expect(await get(keys.link(login(l), psid(p)))).toMatchObject({
        type: 'link',
        psidId: p,
        pageId: PAGE_ID,
      });
      expect(await get(keys.link(psid(p), login(l)))).toMatchObject({ type: 'link', loginId: l });
      expect(await get(keys.sentMessage(psid(p), `first.${l}`))).toMatchObject({
        ref: keys.optin(l),
      });
    });

    it('carries a suppression across when it links', async () => {
      const [l, p] = [unique('L'), unique('P')];
      await people.suppress(
        login(l),
        { source: 'send_api', reason: 'send_api_not_receiving', code: 551 },
        T0,
      );

      await people.recordUserMessage({ psid: p, pageId: PAGE_ID, atMs: T0, priorLoginId: l }, T0);

      expect(await get(keys.suppression(psid(p)))).toMatchObject({ source: 'send_api', code: 551 });
    });
  });

  describe('applyReceipt()', () => {
    it('marks the first message delivered by mid, then read by watermark, never backwards', async () => {
      const [l, p, mid] = [unique('L'), unique('P'), unique('m')];
      await sendFirstMessage(l, { messageId: mid, recipientId: p });

      const delivered = await people.applyReceipt({
        psid: p,
        kind: 'delivered',
        mids: [mid],
        watermarkMs: T0 + 500,
      });
      const read = await people.applyReceipt({ psid: p, kind: 'read', watermarkMs: T0 + 900 });
      const late = await people.applyReceipt({
        psid: p,
        kind: 'delivered',
        mids: [mid],
        watermarkMs: T0 + 950,
      });

      expect([delivered, read, late]).toEqual([1, 1, 1]);
      expect(await optinItem(ctx.doc, ctx.tableName, l)).toMatchObject({
        status: 'sent',
        receipt: 'read',
        deliveredAt: new Date(T0 + 500).toISOString(),
        readAt: new Date(T0 + 900).toISOString(),
      });
    });

    it('leaves a message sent after the watermark alone', async () => {
      const [l, p] = [unique('L'), unique('P')];
      await sendFirstMessage(l, { messageId: unique('m'), recipientId: p }, T0 + HOUR_MS);

      expect(await people.applyReceipt({ psid: p, kind: 'delivered', watermarkMs: T0 })).toBe(0);
      expect(await optinItem(ctx.doc, ctx.tableName, l)).not.toHaveProperty('receipt');
    });

    it('reaches the first message through a PSID learned only from the reply', async () => {
      const [l, p] = [unique('L'), unique('P')];
      await sendFirstMessage(l, { messageId: unique('m') });
      await people.recordUserMessage(
        { psid: p, pageId: PAGE_ID, atMs: T0 + 2000, priorLoginId: l },
        T0 + 2000,
      );

      await people.applyReceipt({ psid: p, kind: 'read', watermarkMs: T0 + 3000 });

      expect(await optinItem(ctx.doc, ctx.tableName, l)).toMatchObject({
        receipt: 'read',
        deliveredAt: new Date(T0 + 3000).toISOString(),
      });
    });

    it('ignores receipts for messages it does not know', async () => {
      expect(
        await people.applyReceipt({
          psid: unique('P'),
          kind: 'read',
          watermarkMs: T0,
          mids: ['m_unknown'],
        }),
      ).toBe(0);
    });
  });
});
