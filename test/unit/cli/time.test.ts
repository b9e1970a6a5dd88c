import { UsageError } from '../../../infra/cli/errors';
import {
  DAY_MS,
  formatLatency,
  formatSpan,
  HOUR_MS,
  MINUTE_MS,
  parseDuration,
  parseSince,
  relativeTime,
} from '../../../infra/cli/time';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

describe('cli/time', () => {
  describe('parseDuration()', () => {
    it.each([
      ['90s', 90_000],
      ['30m', 30 * MINUTE_MS],
      ['45min', 45 * MINUTE_MS],
      ['24h', 24 * HOUR_MS],
      ['7d', 7 * DAY_MS],
      ['2w', 14 * DAY_MS],
      ['1h30m', 90 * MINUTE_MS],
      ['500ms', 500],
      [' 2H ', 2 * HOUR_MS],
    ])('reads %s', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });

    it.each(['', 'h', '24', '1.5h', '-1h', 'yesterday', '2025-06-01'])('refuses "%s"', (text) => {
      expect(parseDuration(text)).toBeUndefined();
    });
  });

  describe('parseSince()', () => {
    it('counts a duration back from now', () => {
      expect(parseSince('24h', NOW)).toBe(NOW - DAY_MS);
    });

    it('reads an ISO date as midnight UTC and an ISO time as given', () => {
      expect(parseSince('2026-11-20', NOW)).toBe(Date.parse('2026-11-20T00:00:00.000Z'));
      expect(parseSince('2026-11-21T10:30:00Z', NOW)).toBe(Date.parse('2026-11-21T10:30:00Z'));
    });

    it('refuses a time in the future, a zero duration and anything else', () => {
      expect(() => parseSince('2026-11-22', NOW)).toThrow(/future/);
      expect(() => parseSince('0h', NOW)).toThrow(UsageError);
      expect(() => parseSince('last tuesday', NOW)).toThrow(/duration .* or an ISO date/);
    });
  });

  describe('formatSpan()', () => {
    it.each([
      [0, '0 s'],
      [59_999, '59 s'],
      [3 * MINUTE_MS + 50_000, '3 min'],
      [2 * HOUR_MS + 15 * MINUTE_MS, '2 h 15 min'],
      [3 * HOUR_MS, '3 h'],
      [23 * HOUR_MS + 59 * MINUTE_MS, '23 h'],
      [71 * HOUR_MS, '71 h'],
      [10 * DAY_MS + HOUR_MS, '10 d'],
    ])('shows %d ms as "%s", rounded down', (ms, text) => {
      expect(formatSpan(ms)).toBe(text);
    });
  });

  describe('relativeTime()', () => {
    it('says "ago" for the past and "in" for the future', () => {
      expect(relativeTime(NOW - 3 * MINUTE_MS, NOW)).toBe('3 min ago');
      expect(relativeTime(NOW + 21 * HOUR_MS + 30 * MINUTE_MS, NOW)).toBe('in 21 h');
    });

    it('says "just now" within a second either way', () => {
      expect(relativeTime(NOW - 999, NOW)).toBe('just now');
      expect(relativeTime(NOW + 999, NOW)).toBe('just now');
    });
  });

  describe('formatLatency()', () => {
    it.each([
      [86, '86 ms'],
      [1286, '1.3 s'],
      [3 * MINUTE_MS + 5000, '3 min 5 s'],
      [2 * MINUTE_MS, '2 min'],
      [2 * HOUR_MS + 15 * MINUTE_MS, '2 h 15 min'],
    ])('shows %d ms as "%s"', (ms, text) => {
      expect(formatLatency(ms)).toBe(text);
    });
  });
});
