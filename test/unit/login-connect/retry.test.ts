import {
  LAST_CHANCE_MARGIN_MS,
  maxAttemptsInWindow,
  planRetry,
  visibilitySeconds,
} from '../../../shared/login-connect/retry';

const POLICY = { baseSeconds: 30, maxSeconds: 900 };
const NOW = 1_000_000_000_000;
const FAR = NOW + 24 * 3_600_000;

describe('login-connect/retry', () => {
  describe('planRetry()', () => {
    it('waits between half and all of base × 2^(attempt-1)', () => {
      const low = planRetry({
        attempt: 3,
        nowMs: NOW,
        windowEndsAtMs: FAR,
        policy: POLICY,
        random: () => 0,
      });
      const high = planRetry({
        attempt: 3,
        nowMs: NOW,
        windowEndsAtMs: FAR,
        policy: POLICY,
        random: () => 1,
      });

      expect(low).toEqual({ retry: true, retryAtMs: NOW + 60_000, delaySeconds: 60 });
      expect(high).toEqual({ retry: true, retryAtMs: NOW + 120_000, delaySeconds: 120 });
    });

    it('spreads retries with jitter', () => {
      const delays = new Set(
        [0.1, 0.5, 0.9].map((r) => {
          const plan = planRetry({
            attempt: 1,
            nowMs: NOW,
            windowEndsAtMs: FAR,
            policy: POLICY,
            random: () => r,
          });
          return plan.retry ? plan.retryAtMs : 0;
        }),
      );

      expect(delays.size).toBe(3);
    });

    it('never waits longer than the maximum', () => {
      const plan = planRetry({
        attempt: 40,
        nowMs: NOW,
        windowEndsAtMs: FAR,
        policy: POLICY,
        random: () => 1,
      });

      expect(plan).toMatchObject({ retry: true, delaySeconds: 900 });
    });

    it('pulls a retry that would land after the window in to just before it closes', () => {
      const windowEnd = NOW + 100_000;

      const plan = planRetry({
        attempt: 5,
        nowMs: NOW,
        windowEndsAtMs: windowEnd,
        policy: POLICY,
        random: () => 1,
      });

      expect(plan).toEqual({
        retry: true,
        retryAtMs: windowEnd - LAST_CHANCE_MARGIN_MS,
        delaySeconds: 85,
      });
    });

    it('gives up when not even a last attempt fits in the window', () => {
      const plan = planRetry({
        attempt: 1,
        nowMs: NOW,
        windowEndsAtMs: NOW + LAST_CHANCE_MARGIN_MS + 500,
        policy: POLICY,
      });

      expect(plan).toEqual({ retry: false, reason: 'window_closing' });
    });
  });

  describe('visibilitySeconds()', () => {
    it('rounds up, is at least 1 s and at most the SQS limit of 12 h', () => {
      expect(visibilitySeconds(1001)).toBe(2);
      expect(visibilitySeconds(-5)).toBe(1);
      expect(visibilitySeconds(48 * 3_600_000)).toBe(43_200);
    });
  });

  describe('maxAttemptsInWindow()', () => {
    it('counts the attempts a 24 h window holds when every jitter draw is the smallest', () => {
      // 15, 30, 60, 120, 240 then 450 s apart: 465 s + n × 450 s ≤ 86,385 s.
      expect(maxAttemptsInWindow(POLICY)).toBe(197);
    });

    it('shrinks as the maximum delay grows', () => {
      expect(maxAttemptsInWindow({ baseSeconds: 30, maxSeconds: 3600 })).toBeLessThan(
        maxAttemptsInWindow(POLICY),
      );
    });
  });
});
