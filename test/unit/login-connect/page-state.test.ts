import {
  backoffMs,
  decideGate,
  deferSeconds,
  type PageHealthOptions,
  type PageState,
  PROBE_RECHECK_MS,
  planPause,
  tokenHash,
} from '../../../shared/login-connect/page-state';
import type { SendFailure } from '../../../shared/login-connect/send-errors';

const PAGE = '1111111111';
const NOW = Date.parse('2026-11-21T09:00:00.000Z');
const OPTIONS: PageHealthOptions = {
  backoffBaseMs: 60_000,
  backoffMaxMs: 3_600_000,
  cacheMs: 5_000,
  probeLeaseMs: 35_000,
};
const TOKEN = 'EAAB-page-token';
const HASH = tokenHash(TOKEN);
const paused = (overrides: Partial<PageState> = {}): PageState => ({
  pageId: PAGE,
  pausedReason: 'page_restricted',
  pausedSince: NOW - 120_000,
  pausedUntil: NOW + 60_000,
  pauseCount: 1,
  ...overrides,
});
const failure = (code: number, subcode?: number): SendFailure => ({
  httpStatus: 400,
  code,
  ...(subcode !== undefined ? { subcode } : {}),
  message: 'x',
});

describe('login-connect/page-state', () => {
  describe('tokenHash()', () => {
    it('is a short fingerprint that tells tokens apart and never holds the token', () => {
      expect(HASH).toMatch(/^[0-9a-f]{16}$/);
      expect(HASH).toBe(tokenHash(TOKEN));
      expect(tokenHash(`${TOKEN}x`)).not.toBe(HASH);
      expect(HASH).not.toContain('EAAB');
    });
  });

  describe('decideGate()', () => {
    const at = { nowMs: NOW, tokenHash: HASH };

    it('opens a Page with no state, or one that is not paused', () => {
      expect(decideGate(undefined, at)).toEqual({ kind: 'open' });
      expect(decideGate({ pageId: PAGE, resumedAt: NOW - 1 }, at)).toEqual({ kind: 'open' });
    });

    it('keeps a paused Page closed until its back-off ends', () => {
      expect(decideGate(paused(), at)).toEqual({
        kind: 'paused',
        reason: 'page_restricted',
        untilMs: NOW + 60_000,
      });
    });

    it.each([
      ['at the end of the back-off', NOW],
      ['after it', NOW - 1],
    ])('lets a probe through %s', (_when, until) => {
      expect(decideGate(paused({ pausedUntil: until }), at)).toEqual({
        kind: 'probe',
        reason: 'page_restricted',
      });
    });

    it('keeps it closed while another job holds the probe, until that probe runs out', () => {
      const state = paused({ pausedUntil: NOW - 1000, probeOwner: 'p', probeUntil: NOW + 5000 });

      expect(decideGate(state, at)).toEqual({
        kind: 'paused',
        reason: 'page_restricted',
        untilMs: NOW + 5000,
      });
      expect(decideGate({ ...state, probeUntil: NOW - 1 }, at)).toMatchObject({ kind: 'probe' });
    });

    it('has the others look again soon while a probe runs, not only when its right runs out', () => {
      const state = paused({ pausedUntil: NOW - 1000, probeOwner: 'p', probeUntil: NOW + 35_000 });

      expect(decideGate(state, at)).toEqual({
        kind: 'paused',
        reason: 'page_restricted',
        untilMs: NOW + PROBE_RECHECK_MS,
      });
    });

    it('probes a Page whose token was refused as soon as the secret holds another token', () => {
      const state = paused({ pausedReason: 'token_invalid', tokenHash: HASH });

      expect(decideGate(state, at)).toMatchObject({ kind: 'paused', reason: 'token_invalid' });
      expect(decideGate(state, { nowMs: NOW, tokenHash: tokenHash('EAAB-new') })).toEqual({
        kind: 'probe',
        reason: 'token_invalid',
      });
      // The same token is tried again once the back-off passed (it may have been restored).
      expect(decideGate({ ...state, pausedUntil: NOW - 1 }, at)).toMatchObject({ kind: 'probe' });
    });

    it('does not take a rate limit or a restriction for a token change', () => {
      const state = paused({ pausedReason: 'rate_limited', tokenHash: 'other' });

      expect(decideGate(state, at)).toMatchObject({ kind: 'paused', reason: 'rate_limited' });
    });

    it('probes a paused Page without a next check time', () => {
      expect(decideGate({ pageId: PAGE, pausedReason: 'page_restricted' }, at)).toMatchObject({
        kind: 'probe',
      });
    });
  });

  describe('backoffMs()', () => {
    it.each([
      [1, 60_000],
      [2, 120_000],
      [3, 240_000],
      [6, 1_920_000],
      [7, 3_600_000],
      [500, 3_600_000],
      [0, 60_000],
    ])('pause %i in a row waits %i ms', (count, ms) => {
      expect(backoffMs(count, OPTIONS)).toBe(ms);
    });
  });

  describe('planPause()', () => {
    const base = { pageId: PAGE, accessToken: TOKEN, nowMs: NOW, options: OPTIONS };

    it('backs a restricted Page off from the base, keeping what Graph said', () => {
      expect(
        planPause({ ...base, reason: 'page_restricted', failure: failure(10, 1893063) }),
      ).toEqual({
        reason: 'page_restricted',
        untilMs: NOW + 60_000,
        pauseCount: 1,
        error: { code: 10, subcode: 1893063, httpStatus: 400, message: 'x', at: NOW },
      });
    });

    it('doubles the back-off for a pause in a row for the same reason, not for another', () => {
      const state = paused({ pauseCount: 3 });

      expect(
        planPause({ ...base, reason: 'page_restricted', failure: failure(10, 1893063), state }),
      ).toMatchObject({ pauseCount: 4, untilMs: NOW + 480_000 });
      expect(
        planPause({ ...base, reason: 'token_invalid', failure: failure(190), state }),
      ).toMatchObject({ pauseCount: 1, untilMs: NOW + 60_000 });
    });

    it('keeps a fingerprint of the refused token, and only for a token pause', () => {
      expect(planPause({ ...base, reason: 'token_invalid', failure: failure(190) })).toMatchObject({
        tokenHash: HASH,
      });
      expect(
        planPause({ ...base, reason: 'rate_limited', failure: failure(613) }).tokenHash,
      ).toBeUndefined();
    });

    it("waits out Graph's estimated_time_to_regain_access on a rate limit", () => {
      const usage = { business: { [PAGE]: [{ type: 'messenger', regainAccessMinutes: 17 }] } };

      expect(
        planPause({ ...base, reason: 'rate_limited', failure: failure(80001), usage }),
      ).toMatchObject({ untilMs: NOW + 17 * 60_000, usage });
    });

    it('falls back on the back-off when Graph gives no estimate, or 0', () => {
      const zero = { business: { [PAGE]: [{ regainAccessMinutes: 0 }] } };

      expect(
        planPause({ ...base, reason: 'rate_limited', failure: failure(613), usage: zero }),
      ).toMatchObject({ untilMs: NOW + 60_000 });
      expect(planPause({ ...base, reason: 'rate_limited', failure: failure(613) })).toMatchObject({
        untilMs: NOW + 60_000,
      });
    });

    it('caps an estimate at a day', () => {
      const usage = { app: { regainAccessMinutes: 100_000 } };

      expect(
        planPause({ ...base, reason: 'rate_limited', failure: failure(4), usage }).untilMs,
      ).toBe(NOW + 24 * 3_600_000);
    });

    it('keeps at most 500 characters of the message', () => {
      const long = { ...failure(10, 1893063), message: 'm'.repeat(2000) };

      expect(
        planPause({ ...base, reason: 'page_restricted', failure: long }).error.message,
      ).toHaveLength(500);
    });
  });

  describe('deferSeconds()', () => {
    const base = { nowMs: NOW, options: OPTIONS, random: () => 0 };

    it('hides a job until the next probe', () => {
      expect(deferSeconds({ ...base, untilMs: NOW + 60_000, receiveCount: 1 })).toBe(60);
    });

    it('adds jitter up to half the wait, at most 30 s, so waiting jobs come back spread out', () => {
      const max = { ...base, random: () => 1 };

      expect(deferSeconds({ ...max, untilMs: NOW + 20_000, receiveCount: 1 })).toBe(30);
      expect(deferSeconds({ ...max, untilMs: NOW + 600_000, receiveCount: 1 })).toBe(630);
    });

    it('waits at least a floor that grows ×1.5 with each receive, up to a quarter of the max', () => {
      const seconds = (receiveCount: number) =>
        deferSeconds({ ...base, untilMs: NOW, receiveCount });

      expect([1, 2, 3, 4, 11, 12, 100].map(seconds)).toEqual([15, 23, 34, 51, 865, 900, 900]);
    });

    it('keeps a job deferred all day far below the queue’s receive budget', () => {
      // Each receive defers by the floor alone (the worst case): how many fit in 24 h?
      let elapsed = 0;
      let receives = 0;
      while (elapsed < 24 * 3_600_000) {
        receives += 1;
        elapsed += deferSeconds({ ...base, untilMs: NOW, receiveCount: receives }) * 1000;
      }
      expect(receives).toBeLessThan(120);
    });

    it('never hides a job past the last chance of its window', () => {
      const windowEndsAtMs = NOW + 45_000;

      expect(
        deferSeconds({ ...base, untilMs: NOW + 600_000, receiveCount: 1, windowEndsAtMs }),
      ).toBe(30);
    });

    it('hides it until just after the window closes once the last chance has passed', () => {
      expect(
        deferSeconds({
          ...base,
          untilMs: NOW + 600_000,
          receiveCount: 1,
          windowEndsAtMs: NOW + 10_000,
        }),
      ).toBe(11);
    });

    it('waits at least a second, and at most SQS’s 12 hours', () => {
      const tiny = { ...OPTIONS, backoffBaseMs: 1, backoffMaxMs: 2 };

      expect(deferSeconds({ ...base, options: tiny, untilMs: NOW - 5000, receiveCount: 1 })).toBe(
        1,
      );
      expect(deferSeconds({ ...base, untilMs: NOW + 100 * 3_600_000, receiveCount: 1 })).toBe(
        43_200,
      );
    });
  });
});
