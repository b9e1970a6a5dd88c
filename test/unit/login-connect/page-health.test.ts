import type { SendOutcome } from '../../../shared/graph/ports';
import { PageHealth, wakePage } from '../../../shared/login-connect/page-health';
import {
  type PageHealthOptions,
  type PageState,
  PROBE_RECHECK_MS,
  tokenHash,
} from '../../../shared/login-connect/page-state';
import type { OptinJob } from '../../../shared/messages';
import type { OptinStore, StaleOptin } from '../../../shared/store/optin-store';
import { FakePageStore } from '../../helpers/fakes/page-store';

const PAGE = '1111111111';
const TOKEN = 'EAAB-token';
const NOW = Date.parse('2026-11-21T09:00:00.000Z');
const OPTIONS: PageHealthOptions = {
  backoffBaseMs: 60_000,
  backoffMaxMs: 3_600_000,
  cacheMs: 5_000,
  probeLeaseMs: 35_000,
};

const ok: SendOutcome = { ok: true, httpStatus: 200, messageId: 'm_1' };
const graphFailure = (code: number, subcode?: number, httpStatus = 400): SendOutcome => ({
  ok: false,
  failure: { httpStatus, code, ...(subcode ? { subcode } : {}), message: 'x' },
});
const restrictedNow = (store: FakePageStore, overrides: Partial<PageState> = {}) =>
  store.states.set(PAGE, {
    pageId: PAGE,
    pausedReason: 'page_restricted',
    pausedSince: NOW - 60_000,
    pausedUntil: NOW - 1,
    pauseCount: 1,
    ...overrides,
  });

let store: FakePageStore;
let owners: number;
let health: PageHealth;
beforeEach(() => {
  store = new FakePageStore();
  owners = 0;
  health = new PageHealth(store, OPTIONS, () => `owner-${++owners}`);
});

describe('PageHealth', () => {
  describe('gate()', () => {
    it('reads an open Page once per cacheMs, and writes nothing', async () => {
      for (const ms of [0, 1000, 4999]) {
        expect(await health.gate(PAGE, TOKEN, NOW + ms)).toEqual({ kind: 'open' });
      }
      await health.gate(PAGE, TOKEN, NOW + 5000);

      expect(store.calls).toEqual(['get', 'get']);
    });

    it('reads a Page once for the records of a batch that ask at the same time', async () => {
      const gates = await Promise.all(
        Array.from({ length: 10 }, () => health.gate(PAGE, TOKEN, NOW)),
      );

      expect(gates.every((g) => g.kind === 'open')).toBe(true);
      expect(store.calls).toEqual(['get']);
    });

    it('makes one job the probe of a paused Page whose back-off passed, and keeps the others waiting', async () => {
      restrictedNow(store);
      const other = new PageHealth(store, OPTIONS, () => 'other');

      const first = await health.gate(PAGE, TOKEN, NOW);
      const second = await other.gate(PAGE, TOKEN, NOW);

      expect(first).toEqual({ kind: 'probe', reason: 'page_restricted', owner: 'owner-1' });
      // Not until the probe's right runs out: its one call usually answers within a second.
      expect(OPTIONS.probeLeaseMs).toBeGreaterThan(PROBE_RECHECK_MS);
      expect(second).toEqual({
        kind: 'paused',
        reason: 'page_restricted',
        untilMs: NOW + PROBE_RECHECK_MS,
      });
    });

    it('gives a probe right back for another job to take', async () => {
      restrictedNow(store);
      const probe = await health.gate(PAGE, TOKEN, NOW);

      await health.release(PAGE, probe, NOW);

      expect(store.states.get(PAGE)?.probeOwner).toBeUndefined();
      expect(await health.gate(PAGE, TOKEN, NOW)).toMatchObject({ kind: 'probe' });
    });

    it('lets nothing wait behind a probe that was released without a decision', async () => {
      expect(await health.release(PAGE, { kind: 'open' }, NOW)).toBeUndefined();
      expect(store.calls).toEqual([]);
    });
  });

  describe('afterAttempt()', () => {
    const attempted = (gate: Awaited<ReturnType<PageHealth['gate']>>, outcome: SendOutcome) =>
      health.afterAttempt({ pageId: PAGE, accessToken: TOKEN, gate, outcome, nowMs: NOW });

    it('writes nothing for a send through an open Page, whatever its outcome but a Page failure', async () => {
      for (const outcome of [ok, graphFailure(551), graphFailure(2, undefined, 500)]) {
        expect(await attempted({ kind: 'open' }, outcome)).toBeUndefined();
      }
      expect(store.calls).toEqual([]);
    });

    it.each([
      ['10/1893063', graphFailure(10, 1893063), 'page_restricted'],
      ['190', graphFailure(190, 460), 'token_invalid'],
      ['613', graphFailure(613), 'rate_limited'],
      [
        'HTTP 429',
        { ok: false, failure: { httpStatus: 429, message: 'x' } } as SendOutcome,
        'rate_limited',
      ],
    ])('pauses the Page on %s', async (_name, outcome, reason) => {
      const event = await attempted({ kind: 'open' }, outcome);

      expect(event).toEqual({
        pageId: PAGE,
        event: 'paused',
        reason,
        untilMs: NOW + 60_000,
        pauseCount: 1,
        recorded: true,
      });
      expect(store.states.get(PAGE)).toMatchObject({ pausedReason: reason });
      // What this container wrote, it knows without reading.
      expect(await health.gate(PAGE, TOKEN, NOW + 1)).toMatchObject({ kind: 'paused', reason });
      expect(store.calls.filter((c) => c === 'get')).toHaveLength(0);
    });

    it('keeps a stronger pause when a rate limit comes after it', async () => {
      store.states.set(PAGE, { pageId: PAGE, pausedReason: 'token_invalid', tokenHash: 'h' });

      const event = await attempted({ kind: 'open' }, graphFailure(613));

      expect(event).toMatchObject({ event: 'paused', reason: 'rate_limited', recorded: false });
      expect(store.states.get(PAGE)?.pausedReason).toBe('token_invalid');
    });

    it('resumes the Page when its probe is sent, or gets an answer about the person', async () => {
      for (const outcome of [ok, graphFailure(551), graphFailure(100), graphFailure(10, 2018278)]) {
        restrictedNow(store);
        const probe = await health.gate(PAGE, TOKEN, NOW);

        expect(await attempted(probe, outcome)).toMatchObject({
          event: 'resumed',
          reason: 'page_restricted',
          pausedSince: NOW - 60_000,
        });
        expect(store.states.get(PAGE)).toEqual({ pageId: PAGE, resumedAt: NOW });
      }
    });

    it('gives the probe right back when the probe learnt nothing (5xx, no answer)', async () => {
      for (const outcome of [
        graphFailure(2, undefined, 500),
        { ok: false, failure: { network: 'timeout', message: 't' } } as SendOutcome,
      ]) {
        restrictedNow(store);
        const probe = await health.gate(PAGE, TOKEN, NOW);

        expect(await attempted(probe, outcome)).toMatchObject({ event: 'probe_released' });
        expect(store.states.get(PAGE)).toMatchObject({ pausedReason: 'page_restricted' });
        expect(store.states.get(PAGE)?.probeOwner).toBeUndefined();
      }
    });

    it('pauses again, longer, when the probe meets the same failure', async () => {
      restrictedNow(store, { pauseCount: 2 });
      const probe = await health.gate(PAGE, TOKEN, NOW);

      const event = await attempted(probe, graphFailure(10, 1893063));

      expect(event).toMatchObject({ event: 'paused', pauseCount: 3, untilMs: NOW + 240_000 });
      expect(store.states.get(PAGE)?.probeOwner).toBeUndefined();
    });

    it('never throws: a failed write is reported, and the pause still plans the retry', async () => {
      store.failWrites = true;

      const event = await attempted({ kind: 'open' }, graphFailure(190));

      expect(event).toMatchObject({
        event: 'paused',
        reason: 'token_invalid',
        untilMs: NOW + 60_000,
        writeError: expect.any(Error),
      });
    });

    it('fingerprints the refused token, so a new token in the secret probes at once', async () => {
      await attempted({ kind: 'open' }, graphFailure(190));

      expect(store.states.get(PAGE)?.tokenHash).toBe(tokenHash(TOKEN));
      expect(await health.gate(PAGE, TOKEN, NOW + 1000)).toMatchObject({ kind: 'paused' });
      expect(await health.gate(PAGE, 'EAAB-new', NOW + 1000)).toMatchObject({ kind: 'probe' });
    });
  });
});

describe('wakePage()', () => {
  const waiting = (loginId: string, windowEndsAtMs: number): StaleOptin => ({
    loginId,
    pageId: PAGE,
    optinAtMs: windowEndsAtMs - 86_400_000,
    receivedAtMs: windowEndsAtMs - 86_400_000,
    source: 'webhook',
    status: 'pending',
    sweepAt: '2026-11-21T09:05:00.000Z',
    windowEndsAtMs,
  });

  it('queues again the opt-ins of the Page that are still inside their window and were not touched meanwhile', async () => {
    const woken: string[] = [];
    const store = {
      waitingOn: async () => [
        waiting('open', NOW + 1000),
        waiting('closed', NOW),
        waiting('moved', NOW + 1000),
      ],
      wake: async (loginId: string) => {
        woken.push(loginId);
        return loginId !== 'moved';
      },
    } as unknown as OptinStore;
    const queued: OptinJob[] = [];

    const count = await wakePage(PAGE, {
      store,
      enqueue: async (jobs) => queued.push(...jobs),
      now: () => NOW,
    });

    expect(count).toBe(1);
    expect(woken).toEqual(['open', 'moved']);
    expect(queued).toEqual([
      {
        v: 1,
        kind: 'optin',
        pageId: PAGE,
        loginId: 'open',
        optinAt: NOW + 1000 - 86_400_000,
        receivedAt: NOW + 1000 - 86_400_000,
        source: 'webhook',
      },
    ]);
  });

  it('queues nothing when nothing waits', async () => {
    const enqueue = jest.fn();
    const store = { waitingOn: async () => [] } as unknown as OptinStore;

    expect(await wakePage(PAGE, { store, enqueue, now: () => NOW })).toBe(0);
    expect(enqueue).not.toHaveBeenCalled();
  });
});
