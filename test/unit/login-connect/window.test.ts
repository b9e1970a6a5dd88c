import {
  FIRST_MESSAGE_WINDOW_MS,
  isInsideWindow,
  normalizeTimestamp,
  windowEndsAt,
} from '../../../shared/login-connect/window';

const OPTIN = Date.parse('2026-11-20T12:00:00.000Z');

describe('login-connect/window', () => {
  describe('isInsideWindow()', () => {
    it('allows a send one millisecond before 24 hours have passed', () => {
      expect(isInsideWindow(OPTIN, OPTIN + FIRST_MESSAGE_WINDOW_MS - 1)).toBe(true);
    });

    it('refuses a send at exactly 24 hours', () => {
      expect(isInsideWindow(OPTIN, OPTIN + FIRST_MESSAGE_WINDOW_MS)).toBe(false);
    });

    it('refuses a send 25 hours after the opt-in', () => {
      expect(isInsideWindow(OPTIN, OPTIN + 25 * 3_600_000)).toBe(false);
    });

    it('counts from the opt-in, so the window ends 24 h after it', () => {
      expect(new Date(windowEndsAt(OPTIN)).toISOString()).toBe('2026-11-21T12:00:00.000Z');
    });
  });

  describe('normalizeTimestamp()', () => {
    it.each([
      [1_458_692_752_478, 1_458_692_752_478],
      [1_234_567_890, 1_234_567_890_000],
      ['1527459824', 1_527_459_824_000],
      ['1458692752478', 1_458_692_752_478],
    ])('reads %p as %p ms', (raw, expected) => {
      expect(normalizeTimestamp(raw)).toBe(expected);
    });

    it.each([[undefined], [null], ['soon'], [-5], [0], [Number.NaN], [{}], [1e300], ['1e400']])(
      'rejects %p',
      (raw) => {
        expect(normalizeTimestamp(raw)).toBeUndefined();
      },
    );
  });
});
