import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import type { AttemptError, OptinRef } from '../../shared/store/optin-store';
import { keys } from '../../shared/store/table-definition';
import { HOUR_MS, OTHER_PAGE_ID, PAGE_ID } from '../helpers/factories';
import { freshTable, optinItem, partition } from '../helpers/tables';

const iso = (ms: number) => new Date(ms).toISOString();
const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
/** How long an expired lease is still respected (`takeoverGraceMs`). */
const GRACE = 30_000;
const transient: AttemptError = {
  kind: 'transient',
  attempt: 1,
  httpStatus: 500,
  message: 'HTTP 500',
};

let ctx: Awaited<ReturnType<typeof freshTable>>;
let store: DynamoDbOptinStore;
let n = 0;
const ref = (overrides: Partial<OptinRef> = {}): OptinRef => {
  n += 1;
  return {
    loginId: `login-${n}`,
    pageId: PAGE_ID,
    optinAtMs: T0,
    receivedAtMs: T0 + 100,
    source: 'webhook',
    ...overrides,
  };
};

beforeAll(async () => {
  ctx = await freshTable();
  store = new DynamoDbOptinStore(ctx.doc, ctx.tableName, RETENTION);
});
afterAll(() => ctx.raw.destroy());

describe('DynamoDbOptinStore', () => {
  describe('claim()', () => {
    it('creates the record an operator reads, and takes the lease', async () => {
      const optin = ref();

      const result = await store.claim(optin, T0 + 1000, LEASE);

      expect(result).toMatchObject({
        outcome: 'claimed',
        claim: { loginId: optin.loginId, pageId: PAGE_ID, leaseUntilMs: T0 + 1000 + LEASE },
      });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        type: 'optin',
        loginId: optin.loginId,
        pageId: PAGE_ID,
        status: 'sending',
        optinAt: '2026-11-21T09:00:00.000Z',
        windowEndsAt: '2026-11-22T09:00:00.000Z',
        receivedAt: '2026-11-21T09:00:00.100Z',
        attempts: 1,
        leaseUntil: new Date(T0 + 1000 + LEASE).toISOString(),
        sources: new Set(['webhook']),
        expiresAt: Math.floor((T0 + 24 * HOUR_MS) / 1000) + 30 * 86_400,
      });
    });

    it('gives the lease to exactly one of 25 concurrent claims', async () => {
      const optin = ref();

      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.claim(optin, T0 + 1000, LEASE)),
      );

      expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'busy')).toHaveLength(24);
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({ attempts: 1 });
    });

    it('says busy until the lease ends, then lets another worker take over', async () => {
      const optin = ref();
      await store.claim(optin, T0, LEASE);

      const during = await store.claim(optin, T0 + LEASE - 1, LEASE);
      const inGrace = await store.claim(optin, T0 + LEASE + GRACE - 1, LEASE, { takeover: true });
      const after = await store.claim(optin, T0 + LEASE + GRACE + 1, LEASE, { takeover: true });

      // An expired lease is respected a while longer: time for a hand-over to be recorded.
      expect(during).toEqual({ outcome: 'busy', untilMs: T0 + LEASE + GRACE + 1 });
      expect(inGrace).toEqual({ outcome: 'busy', untilMs: T0 + LEASE + GRACE + 1 });
      expect(after.outcome).toBe('claimed');
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({ attempts: 2 });
    });

    it('reports an ended opt-in as done, whatever comes later', async () => {
      const optin = ref();
      const claimed = await store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      await store.markSent(claimed.claim, { messageId: 'm_1' }, T0 + 500);

      expect(await store.claim(optin, T0 + 1000, LEASE)).toEqual({
        outcome: 'done',
        status: 'sent',
      });
      expect(await store.claim(optin, T0 + LEASE * 10, LEASE)).toEqual({
        outcome: 'done',
        status: 'sent',
      });
    });

    it('refuses a Page other than the one the login_id is locked to', async () => {
      const optin = ref();
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...keys.lock(optin.loginId), type: 'lock', pageId: OTHER_PAGE_ID },
        }),
      );

      expect(await store.claim(optin, T0, LEASE)).toEqual({
        outcome: 'locked',
        lockedPageId: OTHER_PAGE_ID,
      });
    });

    it('lets the locked Page itself claim', async () => {
      const optin = ref();
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...keys.lock(optin.loginId), type: 'lock', pageId: PAGE_ID },
        }),
      );

      expect((await store.claim(optin, T0, LEASE)).outcome).toBe('claimed');
    });

    it('refuses a suppressed login_id', async () => {
      const optin = ref();
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            ...keys.suppression(optin.loginId),
            type: 'suppression',
            reason: 'send_api_not_receiving',
          },
        }),
      );

      expect(await store.claim(optin, T0, LEASE)).toEqual({
        outcome: 'suppressed',
        reason: 'send_api_not_receiving',
      });
    });

    describe('the LOCK, read before the claim', () => {
      /** The store on a client that records each command, and can act just after the read. */
      function recorded(options: { failReads?: boolean; afterRead?: () => Promise<void> } = {}) {
        const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
        const client = {
          send: async (command: {
            constructor: { name: string };
            input: Record<string, unknown>;
          }) => {
            sent.push({ command: command.constructor.name, input: command.input });
            if (command.constructor.name !== 'GetCommand') return ctx.doc.send(command as never);
            if (options.failReads) throw new Error('socket hang up');
            const answer = await ctx.doc.send(command as never);
            const afterRead = options.afterRead;
            options.afterRead = undefined; // once: the claim's read, not a later GetItem
            await afterRead?.();
            return answer;
          },
        };
        return { store: new DynamoDbOptinStore(client as never, ctx.tableName, RETENTION), sent };
      }
      const transactionItems = (sent: ReturnType<typeof recorded>['sent']) =>
        sent
          .filter((c) => c.command === 'TransactWriteCommand')
          .map((c) =>
            (c.input.TransactItems as Array<Record<string, { Key?: { sk?: string } }>>).map(
              (item) => {
                const [kind, action] = Object.entries(item)[0] ?? [];
                return `${kind} ${String(action?.Key?.sk)}`;
              },
            ),
          );
      const withTombstone = () => {
        const optin = ref();
        return { ...optin, tombstone: `tombstone-of-${optin.loginId}` };
      };
      const put = (item: Record<string, unknown>) =>
        ctx.doc.send(new PutCommand({ TableName: ctx.tableName, Item: item }));
      const lockItem = async (loginId: string) =>
        (
          await ctx.doc.send(
            new GetCommand({
              TableName: ctx.tableName,
              Key: keys.lock(loginId),
              ConsistentRead: true,
            }),
          )
        ).Item;
      const WITHOUT_LOCK = [
        'Update OPTIN',
        'ConditionCheck SUPPRESSION',
        'ConditionCheck TOMBSTONE',
      ];

      it('leaves the LOCK out of the transaction when there is none', async () => {
        const { store: watched, sent } = recorded();
        const optin = withTombstone();

        const result = await watched.claim(optin, T0, LEASE);

        expect(result.outcome).toBe('claimed');
        expect(sent[0]).toMatchObject({
          command: 'GetCommand',
          input: { Key: keys.lock(optin.loginId), ConsistentRead: true },
        });
        expect(transactionItems(sent)).toEqual([WITHOUT_LOCK]);
      });

      it('leaves it out too when the LOCK is of this very Page', async () => {
        const { store: watched, sent } = recorded();
        const optin = withTombstone();
        await put({ ...keys.lock(optin.loginId), type: 'lock', pageId: PAGE_ID });

        expect((await watched.claim(optin, T0, LEASE)).outcome).toBe('claimed');
        expect(transactionItems(sent)).toEqual([WITHOUT_LOCK]);
      });

      it("checks another Page's LOCK in the transaction, and is refused as before", async () => {
        const { store: watched, sent } = recorded();
        const optin = withTombstone();
        await put({ ...keys.lock(optin.loginId), type: 'lock', pageId: OTHER_PAGE_ID });

        expect(await watched.claim(optin, T0, LEASE)).toEqual({
          outcome: 'locked',
          lockedPageId: OTHER_PAGE_ID,
        });
        expect(transactionItems(sent)).toEqual([
          [
            'Update OPTIN',
            'ConditionCheck LOCK',
            'ConditionCheck SUPPRESSION',
            'ConditionCheck TOMBSTONE',
          ],
        ]);
        expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toBeUndefined();
      });

      it('sees an opt-out committed after the read and before the claim', async () => {
        const optin = withTombstone();
        const { store: watched, sent } = recorded({
          afterRead: async () => {
            await put({ ...keys.suppression(optin.loginId), type: 'suppression', reason: 'stop' });
          },
        });

        expect(await watched.claim(optin, T0, LEASE)).toEqual({
          outcome: 'suppressed',
          reason: 'stop',
        });
        expect(transactionItems(sent)).toEqual([WITHOUT_LOCK]);
        expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toBeUndefined();
      });

      it("answers done when another Page's send is recorded after the read (a LOCK only comes with a sent OPTIN)", async () => {
        const optin = withTombstone();
        const other = await store.claim({ ...optin, pageId: OTHER_PAGE_ID }, T0, LEASE);
        if (other.outcome !== 'claimed') throw new Error('not claimed');
        const { store: watched, sent } = recorded({
          afterRead: async () => {
            await store.markSent(other.claim, { messageId: 'm_other' }, T0 + 100);
          },
        });

        expect(await watched.claim(optin, T0 + 1000, LEASE)).toEqual({
          outcome: 'done',
          status: 'sent',
        });
        // The claim took the path without the LOCK: the sent OPTIN alone refused it.
        expect(transactionItems(sent)).toEqual([WITHOUT_LOCK]);
        expect(await lockItem(optin.loginId)).toMatchObject({ pageId: OTHER_PAGE_ID });
      });

      it('still answers done for an opt-in already sent, even once the person opted out', async () => {
        const optin = withTombstone();
        const claimed = await store.claim(optin, T0, LEASE);
        if (claimed.outcome !== 'claimed') throw new Error('not claimed');
        await store.markSent(claimed.claim, { messageId: 'm_1' }, T0 + 500);
        await put({ ...keys.suppression(optin.loginId), type: 'suppression', reason: 'stop' });

        expect(await store.claim(optin, T0 + 1000, LEASE)).toEqual({
          outcome: 'done',
          status: 'sent',
        });
      });

      it('claims nothing when the read fails', async () => {
        const { store: watched, sent } = recorded({ failReads: true });
        const optin = withTombstone();

        await expect(watched.claim(optin, T0, LEASE)).rejects.toThrow('socket hang up');
        expect(transactionItems(sent)).toEqual([]);
        expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toBeUndefined();
      });
    });

    it('says expired when the stored window has closed, even for a later job', async () => {
      const optin = ref();
      const first = await store.claim(optin, T0, LEASE);
      if (first.outcome !== 'claimed') throw new Error('not claimed');
      await store.markRetry(first.claim, transient, T0 + 60_000, T0 + 10);

      const late = await store.claim(
        { ...optin, optinAtMs: T0 + 2 * HOUR_MS },
        T0 + 24 * HOUR_MS + 1,
        LEASE,
      );

      expect(late).toEqual({ outcome: 'expired' });
    });

    it('says busy until the scheduled retry is due', async () => {
      const optin = ref();
      const first = await store.claim(optin, T0, LEASE);
      if (first.outcome !== 'claimed') throw new Error('not claimed');
      await store.markRetry(first.claim, transient, T0 + 60_000, T0 + 10);

      expect(await store.claim(optin, T0 + 59_999, LEASE)).toEqual({
        outcome: 'busy',
        untilMs: T0 + 60_000,
      });
      expect((await store.claim(optin, T0 + 60_000, LEASE)).outcome).toBe('claimed');
    });

    it('ignores a job whose Page contradicts the record', async () => {
      const optin = ref();
      await store.claim(optin, T0, LEASE);

      expect(await store.claim({ ...optin, pageId: OTHER_PAGE_ID }, T0 + LEASE * 2, LEASE)).toEqual(
        {
          outcome: 'conflict',
          storedPageId: PAGE_ID,
        },
      );
    });
  });

  describe('markSent()', () => {
    it('records the message and locks the Page, in one write', async () => {
      const optin = ref();
      const claimed = await store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');

      expect(
        await store.markSent(claimed.claim, { messageId: 'm_42', recipientId: 'PSID' }, T0 + 800),
      ).toBe('recorded');

      const items = await partition(ctx.doc, ctx.tableName, optin.loginId);
      expect(items.OPTIN).toMatchObject({
        status: 'sent',
        messageId: 'm_42',
        recipientId: 'PSID',
        sentAt: new Date(T0 + 800).toISOString(),
        lockedPageId: PAGE_ID,
      });
      expect(items.OPTIN).not.toHaveProperty('leaseOwner');
      expect(items.LOCK).toMatchObject({
        type: 'lock',
        pageId: PAGE_ID,
        messageId: 'm_42',
        lockedAt: new Date(T0 + 800).toISOString(),
      });
      expect(items.LOCK?.expiresAt).toBe(Math.floor((T0 + 800) / 1000) + 365 * 86_400);
    });

    it('still records a send whose lease ran out, and reports a second send as already_sent', async () => {
      const optin = ref();
      const slow = await store.claim(optin, T0, LEASE);
      const fast = await store.claim(optin, T0 + LEASE + GRACE + 1, LEASE, { takeover: true });
      if (slow.outcome !== 'claimed' || fast.outcome !== 'claimed') throw new Error('not claimed');

      expect(
        await store.markSent(slow.claim, { messageId: 'm_slow' }, T0 + LEASE + GRACE + 5),
      ).toBe('recorded');
      expect(
        await store.markSent(fast.claim, { messageId: 'm_fast' }, T0 + LEASE + GRACE + 6),
      ).toBe('already_sent');
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'sent',
        messageId: 'm_slow',
      });
    });
  });

  describe('markRetry()', () => {
    it('releases the lease, schedules the next attempt and keeps the error history', async () => {
      const optin = ref();
      const claimed = await store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');

      expect(await store.markRetry(claimed.claim, transient, T0 + 30_000, T0 + 200)).toBe(true);

      const item = await optinItem(ctx.doc, ctx.tableName, optin.loginId);
      expect(item).toMatchObject({
        status: 'pending',
        nextAttemptAt: new Date(T0 + 30_000).toISOString(),
        lastError: { kind: 'transient', attempt: 1, httpStatus: 500, message: 'HTTP 500' },
        errors: [{ kind: 'transient', attempt: 1, httpStatus: 500 }],
      });
      expect(item).not.toHaveProperty('leaseOwner');
    });

    it('does nothing once the lease belongs to someone else', async () => {
      const optin = ref();
      const old = await store.claim(optin, T0, LEASE);
      await store.claim(optin, T0 + LEASE + GRACE + 1, LEASE, { takeover: true });
      if (old.outcome !== 'claimed') throw new Error('not claimed');

      expect(await store.markRetry(old.claim, transient, T0 + 99_000, T0 + LEASE + GRACE + 2)).toBe(
        false,
      );
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'sending',
      });
    });
  });

  describe('finish()', () => {
    it('ends the opt-in and, for an opt-out, suppresses the person', async () => {
      const optin = ref();
      const claimed = await store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      const error: AttemptError = {
        kind: 'opted_out',
        attempt: 1,
        httpStatus: 400,
        code: 551,
        message: "This person isn't available right now.",
      };

      await store.finish(
        claimed.claim,
        { status: 'opted_out', reason: 'send_api_not_receiving', error, suppress: true },
        T0 + 300,
      );

      const items = await partition(ctx.doc, ctx.tableName, optin.loginId);
      expect(items.OPTIN).toMatchObject({
        status: 'opted_out',
        statusReason: 'send_api_not_receiving',
        lastError: { code: 551 },
      });
      expect(items.SUPPRESSION).toMatchObject({
        type: 'suppression',
        reason: 'send_api_not_receiving',
        source: 'send_api',
        code: 551,
        pageId: PAGE_ID,
      });
      expect(await store.claim(ref({ loginId: optin.loginId }), T0 + 400, LEASE)).toEqual({
        outcome: 'done',
        status: 'opted_out',
      });
    });
  });

  describe('deleted people', () => {
    const tombstone = async (hash: string, deletedAtMs: number) =>
      ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...keys.tombstone(hash), type: 'tombstone', deletedAt: iso(deletedAtMs) },
        }),
      );

    it('refuses a claim for an opt-in made before the deletion, and creates nothing', async () => {
      const optin = ref({ tombstone: 'deleted-after-optin' });
      await tombstone('deleted-after-optin', T0 + 1);

      const claimed = await store.claim(optin, T0 + 1000, LEASE);
      const settled = await store.settle(optin, { status: 'expired', reason: 'x' }, T0 + 1000);

      expect(claimed).toEqual({ outcome: 'deleted' });
      expect(settled).toEqual({ outcome: 'deleted' });
      expect(await partition(ctx.doc, ctx.tableName, optin.loginId)).toEqual({});
    });

    it('takes an opt-in made after the deletion as a new consent', async () => {
      const optin = ref({ tombstone: 'deleted-before-optin', optinAtMs: T0 + 5000 });
      await tombstone('deleted-before-optin', T0);

      expect((await store.claim(optin, T0 + 6000, LEASE)).outcome).toBe('claimed');
    });

    it('never creates a record when settling without a tombstone to check (the sweeper)', async () => {
      const optin = ref();

      const settled = await store.settle(optin, { status: 'expired', reason: 'x' }, T0 + 1000);

      expect(settled).toEqual({ outcome: 'deleted' });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toBeUndefined();
    });
  });

  describe('settle()', () => {
    it('creates an ended record for an opt-in nobody worked on', async () => {
      const optin = ref({ tombstone: 'no-such-tombstone' });

      expect(
        await store.settle(
          optin,
          { status: 'expired', reason: 'window_closed_before_first_attempt' },
          T0 + 25 * HOUR_MS,
        ),
      ).toEqual({ outcome: 'recorded' });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'expired',
        attempts: 0,
        statusReason: 'window_closed_before_first_attempt',
      });
    });

    it('never overwrites an ended opt-in, and waits for a live lease', async () => {
      const sent = ref();
      const claimed = await store.claim(sent, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      await store.markSent(claimed.claim, {}, T0 + 1);
      const leased = ref();
      await store.claim(leased, T0, LEASE);

      expect(await store.settle(sent, { status: 'failed', reason: 'x' }, T0 + 2)).toEqual({
        outcome: 'done',
        status: 'sent',
      });
      expect(await store.settle(leased, { status: 'failed', reason: 'x' }, T0 + 2)).toEqual({
        outcome: 'busy',
        untilMs: T0 + LEASE,
      });
    });
  });

  describe('recordEvent()', () => {
    it('keeps an event under the person, once however often it is delivered', async () => {
      const job = {
        v: 1 as const,
        kind: 'event' as const,
        eventType: 'message',
        channel: 'messaging' as const,
        pageId: PAGE_ID,
        psid: `psid-${n}`,
        timestamp: T0,
        receivedAt: T0 + 5,
        payload: { message: { mid: 'm.1', text: 'hello' } },
      };

      await store.recordEvent(job, T0 + 10);
      await store.recordEvent(job, T0 + 20);

      const { Items } = await ctx.doc.send(
        new (await import('@aws-sdk/lib-dynamodb')).QueryCommand({
          TableName: ctx.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `PSID#${job.psid}` },
        }),
      );
      expect(Items).toHaveLength(1);
      expect(Items?.[0]).toMatchObject({
        type: 'event',
        eventType: 'message',
        handled: false,
        payload: job.payload,
      });
    });
  });

  describe('park(), waitingOn() and wake(): opt-ins that wait for their paused Page', () => {
    const PAUSED_PAGE = '3333333333';

    it('records a new opt-in as pending, waiting, with no attempt, due for the sweeper', async () => {
      const optin = ref({ pageId: PAUSED_PAGE, tombstone: 'no-such-tombstone' });

      expect(await store.park(optin, T0 + 60_000, 'page_paused:token_invalid', T0 + 1000)).toEqual({
        outcome: 'parked',
      });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        type: 'optin',
        status: 'pending',
        attempts: 0,
        pageId: PAUSED_PAGE,
        waitingFor: 'page_paused:token_invalid',
        sweepPk: 'PENDING',
        sweepAt: iso(T0 + 60_000),
        listPk: 'OPTINS#2026-11-21',
        windowEndsAt: '2026-11-22T09:00:00.000Z',
      });
      // Parking is no attempt: the opt-in can be claimed at once, and the claim clears the wait.
      expect(await store.claim(optin, T0 + 2000, LEASE)).toMatchObject({ outcome: 'claimed' });
      const claimed = await optinItem(ctx.doc, ctx.tableName, optin.loginId);
      expect(claimed).toMatchObject({ status: 'sending', attempts: 1 });
      expect(claimed?.waitingFor).toBeUndefined();
    });

    it('never creates a record without a tombstone to check, nor for a person deleted since', async () => {
      const unchecked = ref({ pageId: PAUSED_PAGE });
      const deleted = ref({ pageId: PAUSED_PAGE, tombstone: 'park-deleted' });
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...keys.tombstone('park-deleted'), type: 'tombstone', deletedAt: iso(T0 + 1) },
        }),
      );

      expect(await store.park(unchecked, T0 + 60_000, 'w', T0 + 1000)).toEqual({
        outcome: 'deleted',
      });
      expect(await store.park(deleted, T0 + 60_000, 'w', T0 + 1000)).toEqual({
        outcome: 'deleted',
      });
      expect(await optinItem(ctx.doc, ctx.tableName, unchecked.loginId)).toBeUndefined();
      expect(await optinItem(ctx.doc, ctx.tableName, deleted.loginId)).toBeUndefined();
    });

    it('leaves alone an opt-in that someone holds, that ended, or that belongs to another Page', async () => {
      const held = ref({ pageId: PAUSED_PAGE, tombstone: 'none' });
      await store.claim(held, T0 + 1000, LEASE);
      const ended = ref({ pageId: PAUSED_PAGE, tombstone: 'none' });
      await store.settle(ended, { status: 'opted_out', reason: 'suppressed:stop' }, T0 + 1000);
      const other = ref({ tombstone: 'none' });
      await store.claim(other, T0 + 1000, LEASE);

      expect(await store.park(held, T0 + 60_000, 'w', T0 + 2000)).toEqual({ outcome: 'busy' });
      expect(await store.park(ended, T0 + 60_000, 'w', T0 + 2000)).toEqual({
        outcome: 'done',
        status: 'opted_out',
      });
      expect(
        await store.park({ ...other, pageId: PAUSED_PAGE }, T0 + 60_000, 'w', T0 + 2000),
      ).toEqual({ outcome: 'conflict', storedPageId: PAGE_ID });
      expect((await optinItem(ctx.doc, ctx.tableName, held.loginId))?.status).toBe('sending');
    });

    it("lists a Page's waiting opt-ins, and wakes one unless it moved meanwhile", async () => {
      const page = '4444444444';
      const a = ref({ pageId: page, tombstone: 'none' });
      const b = ref({ pageId: page, tombstone: 'none' });
      await store.park(a, T0 + 60_000, 'w', T0 + 1000);
      await store.claim(b, T0 + 1000, LEASE);
      const claim = { loginId: b.loginId, pageId: page, owner: 'x', leaseUntilMs: 0 };
      const owner = (await optinItem(ctx.doc, ctx.tableName, b.loginId))?.leaseOwner as string;
      await store.markRetry({ ...claim, owner }, transient, T0 + 600_000, T0 + 2000);
      await store.claim(ref({ pageId: page, tombstone: 'none' }), T0 + 1000, LEASE);

      const waiting = await store.waitingOn(page, 10);

      expect(waiting.map((w) => w.loginId).sort()).toEqual([a.loginId, b.loginId].sort());
      const bWaiting = waiting.find((w) => w.loginId === b.loginId) as (typeof waiting)[number];
      expect(await store.wake(b.loginId, bWaiting.sweepAt, T0 + 3000)).toBe(true);
      expect(await store.wake(b.loginId, bWaiting.sweepAt, T0 + 3000)).toBe(false);
      const woken = await optinItem(ctx.doc, ctx.tableName, b.loginId);
      expect(woken).toMatchObject({ status: 'pending', sweepAt: iso(T0 + 3000) });
      expect(woken?.nextAttemptAt).toBeUndefined();
      // Due now: it can be claimed before its old retry time.
      expect(await store.claim(b, T0 + 4000, LEASE)).toMatchObject({ outcome: 'claimed' });
      expect(await store.waitingOn(page, 1)).toHaveLength(1);
    });
  });
});
