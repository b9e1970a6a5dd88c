import type { AttemptError, OptinRef, OptinStore } from '../../../shared/store/optin-store';

/**
 * The behaviour every `OptinStore` must show, run against the DynamoDB adapter
 * (test/integration/optin-store-contract.test.ts) and the in-memory fake
 * (test/unit/orchestration/optin-store-contract.test.ts), so the fake the orchestration tests
 * trust cannot drift from the adapter.
 */
export interface ContractSubject {
  store: OptinStore;
  /** Records that the person with this tombstone hash was deleted at `atMs`. */
  bury(hash: string, atMs: number): Promise<void>;
}

const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
const GRACE = 30_000;
const PAGE = '1111111111';
const OTHER_PAGE = '2222222222';
const transient: AttemptError = { kind: 'transient', attempt: 1, httpStatus: 500, message: 'x' };

export function optinStoreContract(name: string, subject: () => Promise<ContractSubject>) {
  describe(`${name} honours the OptinStore contract`, () => {
    let s: ContractSubject;
    let n = 0;
    const ref = (overrides: Partial<OptinRef> = {}): OptinRef => {
      n += 1;
      return {
        loginId: `contract-${n}-${Math.random().toString(36).slice(2)}`,
        pageId: PAGE,
        optinAtMs: T0,
        receivedAtMs: T0,
        source: 'webhook',
        ...overrides,
      };
    };
    beforeAll(async () => {
      s = await subject();
    });

    it('leases to one claim at a time, then busy until the lease and its grace pass', async () => {
      const optin = ref();
      const first = await s.store.claim(optin, T0, LEASE);
      const second = await s.store.claim(optin, T0 + 1000, LEASE);
      const late = await s.store.claim(optin, T0 + LEASE + GRACE + 1, LEASE);
      const takeover = await s.store.claim(optin, T0 + LEASE + GRACE + 1, LEASE, {
        takeover: true,
      });

      expect(first).toMatchObject({ outcome: 'claimed', takeover: false });
      expect(second).toEqual({ outcome: 'busy', untilMs: T0 + LEASE + GRACE + 1 });
      expect(late).toMatchObject({ outcome: 'abandoned' });
      expect(takeover).toMatchObject({ outcome: 'claimed', takeover: true });
    });

    it('lets only the lease holder retry or finish, and keeps the next attempt', async () => {
      const optin = ref();
      const claimed = await s.store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      const stranger = { ...claimed.claim, owner: 'someone-else' };

      expect(await s.store.markRetry(stranger, transient, T0 + 60_000, T0 + 1000)).toBe(false);
      expect(await s.store.markRetry(claimed.claim, transient, T0 + 60_000, T0 + 1000)).toBe(true);
      expect(await s.store.claim(optin, T0 + 2000, LEASE)).toEqual({
        outcome: 'busy',
        untilMs: T0 + 60_000,
      });
      const again = await s.store.claim(optin, T0 + 60_000, LEASE);
      expect(again).toMatchObject({ outcome: 'claimed' });
      if (again.outcome === 'claimed') expect(await s.store.attempts(again.claim)).toBe(2);
      expect(
        await s.store.finish(claimed.claim, { status: 'failed', reason: 'x' }, T0 + 60_001),
      ).toBe(false);
    });

    it('records a send once: a retry of the same send is recorded, another is already_sent', async () => {
      const optin = ref();
      const claimed = await s.store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');

      expect(await s.store.markSent(claimed.claim, { messageId: 'm_1' }, T0 + 1000)).toBe(
        'recorded',
      );
      expect(await s.store.markSent(claimed.claim, { messageId: 'm_1' }, T0 + 2000)).toBe(
        'recorded',
      );
      expect(
        await s.store.recordHandedOver(
          { loginId: optin.loginId, pageId: PAGE, owner: 'other', messageId: 'm_2', sentAtMs: T0 },
          T0 + 3000,
        ),
      ).toBe('already_sent');
      expect(await s.store.claim(optin, T0 + 4000, LEASE)).toEqual({
        outcome: 'done',
        status: 'sent',
      });
      // The lock: the same login_id through another Page is refused.
      expect(await s.store.claim({ ...optin, pageId: OTHER_PAGE }, T0 + 5000, LEASE)).toMatchObject(
        { outcome: 'done' },
      );
    });

    it('never creates a record for a handed-over send', async () => {
      expect(
        await s.store.recordHandedOver(
          { loginId: ref().loginId, pageId: PAGE, owner: 'o', messageId: 'm', sentAtMs: T0 },
          T0,
        ),
      ).toBe('gone');
    });

    it('suppresses with `finish(..., suppress)`: a later opt-in of that login_id is refused', async () => {
      const optin = ref();
      const claimed = await s.store.claim(optin, T0, LEASE);
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      await s.store.finish(
        claimed.claim,
        { status: 'opted_out', reason: 'send_api_not_receiving', error: transient, suppress: true },
        T0 + 1000,
      );

      expect(await s.store.claim({ ...optin, optinAtMs: T0 + 2000 }, T0 + 3000, LEASE)).toEqual({
        outcome: 'done',
        status: 'opted_out',
      });
    });

    it('refuses to create the record of a person deleted after the opt-in', async () => {
      const optin = ref({ tombstone: `tomb-${n}-${Math.random()}` });
      await s.bury(optin.tombstone as string, T0 + 1);

      expect(await s.store.claim(optin, T0 + 2, LEASE)).toEqual({ outcome: 'deleted' });
      expect(await s.store.settle(optin, { status: 'expired', reason: 'x' }, T0 + 2)).toEqual({
        outcome: 'deleted',
      });
    });

    it('settles only what nobody works on', async () => {
      const held = ref({ tombstone: `t-${n}` });
      await s.store.claim(held, T0, LEASE);
      const fresh = ref({ tombstone: `t2-${n}` });

      expect(await s.store.settle(held, { status: 'expired', reason: 'x' }, T0 + 1000)).toEqual({
        outcome: 'busy',
        untilMs: T0 + LEASE,
      });
      expect(await s.store.settle(fresh, { status: 'expired', reason: 'x' }, T0)).toEqual({
        outcome: 'recorded',
      });
      expect(await s.store.settle(fresh, { status: 'failed', reason: 'y' }, T0)).toEqual({
        outcome: 'done',
        status: 'expired',
      });
      expect(await s.store.settle(ref(), { status: 'expired', reason: 'x' }, T0)).toEqual({
        outcome: 'deleted',
      });
    });

    it("parks a paused Page's opt-in pending, lists it as waiting, and wakes it once", async () => {
      const pageId = `9${String(n).padStart(9, '0')}`;
      const optin = ref({ pageId, tombstone: `p-${n}` });

      expect(await s.store.park(optin, T0 + 60_000, 'page_paused:token_invalid', T0)).toEqual({
        outcome: 'parked',
      });
      const waiting = await s.store.waitingOn(pageId, 10);
      expect(waiting).toEqual([
        expect.objectContaining({ loginId: optin.loginId, status: 'pending', pageId }),
      ]);
      const seen = waiting[0]?.sweepAt as string;
      expect(await s.store.wake(optin.loginId, seen, T0 + 1000)).toBe(true);
      expect(await s.store.wake(optin.loginId, seen, T0 + 2000)).toBe(false);
      expect(await s.store.claim(optin, T0 + 3000, LEASE)).toMatchObject({ outcome: 'claimed' });
    });

    it('moves a stale opt-in to its next check once (deferSweep)', async () => {
      const optin = ref();
      await s.store.claim(optin, T0, LEASE);
      const stale = (await s.store.stale(T0 + LEASE, 10_000)).find(
        (o) => o.loginId === optin.loginId,
      );

      expect(stale).toMatchObject({
        status: 'sending',
        sweepAt: new Date(T0 + LEASE).toISOString(),
      });
      expect(await s.store.deferSweep(optin.loginId, stale?.sweepAt as string, T0 + 99_000)).toBe(
        true,
      );
      expect(await s.store.deferSweep(optin.loginId, stale?.sweepAt as string, T0 + 99_000)).toBe(
        false,
      );
    });
  });
}
