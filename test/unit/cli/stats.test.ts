import { percentile, renderStats, summarize } from '../../../infra/cli/commands/stats';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const optin = (status: string, pageId: string, latencyMs?: number) => {
  const optinAt = NOW - 60_000;
  return {
    status,
    pageId,
    optinAt: new Date(optinAt).toISOString(),
    ...(latencyMs !== undefined ? { sentAt: new Date(optinAt + latencyMs).toISOString() } : {}),
  };
};

describe('cli/commands/stats', () => {
  describe('percentile()', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);

    it('takes the nearest rank', () => {
      expect(percentile(values, 50)).toBe(50);
      expect(percentile(values, 90)).toBe(90);
      expect(percentile(values, 99)).toBe(99);
      expect(percentile(values, 100)).toBe(100);
    });

    it('gives the single value for every percentile of one, and nothing for none', () => {
      expect(percentile([86], 50)).toBe(86);
      expect(percentile([86], 99)).toBe(86);
      expect(percentile([], 50)).toBeUndefined();
    });

    it('does not depend on the order of the values', () => {
      expect(percentile([300, 100, 200], 50)).toBe(200);
    });
  });

  describe('summarize()', () => {
    it('counts per status and per Page, and the latency of what was sent', () => {
      const items = [
        optin('sent', '111', 100),
        optin('sent', '111', 300),
        optin('sent', '222', 200),
        optin('expired', '111'),
        optin('opted_out', '222'),
      ];

      const stats = summarize(items, { sinceMs: NOW - 86_400_000, untilMs: NOW });

      expect(stats.total).toBe(5);
      expect(stats.byStatus).toEqual({
        pending: 0,
        sending: 0,
        sent: 3,
        expired: 1,
        opted_out: 1,
        page_locked: 0,
        failed: 0,
        unknown: 0,
        rejected: 0,
      });
      expect(stats.byPage.map((p) => [p.pageId, p.total, p.byStatus.sent])).toEqual([
        ['111', 3, 2],
        ['222', 2, 1],
      ]);
      expect(stats.latencyMs).toEqual({ count: 3, p50: 200, p90: 300, p99: 300, max: 300 });
    });

    it('gives null percentiles when nothing was sent', () => {
      const stats = summarize([optin('expired', '111')], { sinceMs: NOW - 1, untilMs: NOW });

      expect(stats.latencyMs).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    });
  });

  describe('renderStats()', () => {
    it('shows Page columns only for the statuses that occur', () => {
      const stats = summarize([optin('sent', '111', 86), optin('expired', '111')], {
        sinceMs: NOW - 86_400_000,
        untilMs: NOW,
      });

      const text = renderStats(stats, NOW);

      expect(text).toContain('Page  total  sent  expired\n111       2     1        1');
      expect(text).toContain('opt-in→send (1 sent): p50 86 ms  p90 86 ms  p99 86 ms  max 86 ms');
    });
  });
});
