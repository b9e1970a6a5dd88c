import { checkFollowup, type RecipientState } from '../../../shared/login-connect/followup-policy';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const HOUR = 3_600_000;
const sent = (optinHoursAgo: number): RecipientState => ({
  firstMessage: { status: 'sent', pageId: '111', optinAtMs: NOW - optinHoursAgo * HOUR },
  lockedPageId: '111',
});

describe('login-connect/followup-policy', () => {
  describe('checkFollowup()', () => {
    it('sends an UPDATE to the login_id inside the opt-in window before the person wrote', () => {
      expect(checkFollowup({ to: { loginId: 'L' } }, sent(2), NOW)).toEqual({
        ok: true,
        pageId: '111',
        recipient: { login_id: 'L' },
        messagingType: 'UPDATE',
      });
    });

    it('sends to the linked PSID once the person wrote, inside 24 h of their last message', () => {
      const state = {
        ...sent(40),
        psid: 'P',
        profile: { pageId: '111', lastUserMessageAtMs: NOW - 23 * HOUR },
      };

      expect(
        checkFollowup({ to: { loginId: 'L' }, messagingType: 'RESPONSE' }, state, NOW),
      ).toMatchObject({ ok: true, recipient: { id: 'P' }, messagingType: 'RESPONSE' });
    });

    it('refuses RESPONSE/UPDATE 24 h after the last message, and allows MESSAGE_TAG with a tag', () => {
      const state = {
        ...sent(40),
        psid: 'P',
        profile: { pageId: '111', lastUserMessageAtMs: NOW - 24 * HOUR },
      };

      expect(checkFollowup({ to: { loginId: 'L' } }, state, NOW)).toMatchObject({
        ok: false,
        status: 409,
        rule: 'outside_24h_window',
      });
      expect(
        checkFollowup({ to: { loginId: 'L' }, tag: 'ACCOUNT_UPDATE' }, state, NOW),
      ).toMatchObject({ ok: true, messagingType: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' });
    });

    it('keeps the Page lock: a login_id goes through the Page its first message used', () => {
      const state: RecipientState = {
        firstMessage: { status: 'sent', pageId: '111', optinAtMs: NOW },
        lockedPageId: '222',
      };

      expect(checkFollowup({ to: { loginId: 'L' } }, state, NOW)).toMatchObject({
        ok: true,
        pageId: '222',
      });
    });

    it.each<[string, Parameters<typeof checkFollowup>[0], RecipientState, number, string]>([
      [
        'someone who opted out',
        { to: { loginId: 'L' } },
        { ...sent(1), suppressed: { source: 'stop', reason: 'stop_notifications' } },
        409,
        'opted_out',
      ],
      [
        'a login_id whose first message has not gone',
        { to: { loginId: 'L' } },
        { firstMessage: { status: 'pending', pageId: '111', optinAtMs: NOW } },
        409,
        'first_message_not_sent',
      ],
      [
        'a login_id whose first message expired',
        { to: { loginId: 'L' } },
        { firstMessage: { status: 'expired', pageId: '111', optinAtMs: NOW - 30 * HOUR } },
        409,
        'first_message_not_sent',
      ],
      ['an unknown login_id', { to: { loginId: 'L' } }, {}, 404, 'unknown_login_id'],
      ['an unknown PSID', { to: { psid: 'P' } }, {}, 404, 'unknown_psid'],
      [
        'MESSAGE_TAG without a tag',
        { to: { loginId: 'L' }, messagingType: 'MESSAGE_TAG' },
        sent(1),
        400,
        'tag_required',
      ],
      [
        'a tag on an UPDATE',
        { to: { loginId: 'L' }, messagingType: 'UPDATE', tag: 'X' },
        sent(1),
        400,
        'tag_needs_message_tag',
      ],
      [
        'a PSID that never wrote',
        { to: { psid: 'P' } },
        { profile: { pageId: '111' } },
        409,
        'outside_24h_window',
      ],
    ])('refuses %s, naming the rule', (_name, request, state, status, rule) => {
      expect(checkFollowup(request, state, NOW)).toMatchObject({ ok: false, status, rule });
    });
  });
});
