import { type SweepDeps, sweep } from '../../../shared/login-connect/sweep';
import type { OptinJob } from '../../../shared/messages';
import { PAGE_ID } from '../../helpers/factories';
import { FakeOptinStore } from '../../helpers/fakes/optin-store';
import { T0 } from './harness';

const LEASE_MS = 35_000;
const OPTIONS = { graceMs: 240_000, recheckMs: 240_000, limit: 500 };
const ref = (loginId: string) => ({
  loginId,
  pageId: PAGE_ID,
  optinAtMs: T0,
  receivedAtMs: T0,
  source: 'webhook' as const,
  tombstone: `tomb-${loginId}`,
});

function setUp(nowMs: number, unknownOutcome: SweepDeps['unknownOutcome'] = 'retry') {
  const store = new FakeOptinStore();
  const enqueued: OptinJob[] = [];
  const deps: SweepDeps = {
    store,
    unknownOutcome,
    enqueue: async (jobs) => {
      enqueued.push(...jobs);
    },
    now: () => nowMs,
  };
  return { store, enqueued, deps };
}

describe('sweep() on an in-memory store', () => {
  it('enqueues a lost opt-in again once, even when two sweeps run at the same time', async () => {
    // Prepare: a claim whose worker died 10 minutes ago, inside the window.
    const now = T0 + 600_000;
    const { store, enqueued, deps } = setUp(now);
    await store.claim(ref('lost'), T0, LEASE_MS);
    await store.claim(ref('fresh'), now - 1000, LEASE_MS);

    // Act
    const [a, b] = await Promise.all([sweep(deps, OPTIONS), sweep(deps, OPTIONS)]);

    // Assess
    expect(a.requeued + b.requeued).toBe(1);
    expect(enqueued).toEqual([
      expect.objectContaining({ kind: 'optin', loginId: 'lost', optinAt: T0, pageId: PAGE_ID }),
    ]);
    expect(store.optins.get('lost')?.sweepAt).toBe(new Date(now + OPTIONS.recheckMs).toISOString());
  });

  it('ends a pending opt-in whose window passed as expired, and counts it', async () => {
    // Prepare: parked (its Page paused) and never woken; now past its 24 h window.
    const now = T0 + 25 * 3_600_000;
    const { store, enqueued, deps } = setUp(now);
    await store.park(ref('waited'), T0 + 60_000, 'page_paused:page_restricted', T0);

    // Act
    const result = await sweep(deps, OPTIONS);

    // Assess
    expect(result).toEqual({ checked: 1, requeued: 0, expired: 1, unknown: 0 });
    expect(store.optins.get('waited')).toMatchObject({
      status: 'expired',
      statusReason: 'window_closed_unattended',
    });
    expect(enqueued).toEqual([]);
  });

  it('with `hold`, ends a passed opt-in whose sender died mid-attempt as unknown', async () => {
    // Prepare
    const now = T0 + 25 * 3_600_000;
    const { store, deps } = setUp(now, 'hold');
    await store.claim(ref('died'), T0 + 3_600_000, LEASE_MS);

    // Act
    const result = await sweep(deps, OPTIONS);

    // Assess
    expect(result).toEqual({ checked: 1, requeued: 0, expired: 0, unknown: 1 });
    expect(store.optins.get('died')?.status).toBe('unknown');
  });

  it('leaves alone an opt-in someone else ended between the read and the write', async () => {
    // Prepare: a stale opt-in that a late sender finishes while the sweep looks at it.
    const now = T0 + 25 * 3_600_000;
    const { store, deps } = setUp(now);
    const claimed = await store.claim(ref('late'), T0, LEASE_MS);
    const stale = store.stale.bind(store);
    store.stale = async (...args) => {
      const found = await stale(...args);
      if (claimed.outcome === 'claimed')
        await store.markSent(claimed.claim, { messageId: 'm_late' }, now);
      return found;
    };

    // Act
    const result = await sweep(deps, OPTIONS);

    // Assess
    expect(result).toMatchObject({ checked: 1, expired: 0 });
    expect(store.optins.get('late')).toMatchObject({ status: 'sent', messageId: 'm_late' });
  });
});
