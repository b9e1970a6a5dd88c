import { checkFollowup, type RecipientState } from '../../../shared/login-connect/followup-policy';
import { MESSAGE_TAGS, tagInForce, tagsInForce } from '../../../shared/login-connect/message-tags';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HUMAN_AGENT_ON = { humanAgentEnabled: true };
const sent = (optinHoursAgo: number): RecipientState => ({
  firstMessage: { status: 'sent', pageId: '111', optinAtMs: NOW - optinHoursAgo * HOUR },
  lockedPageId: '111',
});
/** A person whose first message went out and who last wrote `ms` ago. */
const wrote = (ms: number): RecipientState => ({
  ...sent(40),
  psid: 'P',
  profile: { pageId: '111', lastUserMessageAtMs: NOW - ms },
});

describe('login-connect/message-tags', () => {
  describe('tagInForce()', () => {
    it.each(['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE'])(
      'accepts %s until 26 April 2026 and refuses it from 27 April 2026, naming the date',
      (tag) => {
        const before = tagInForce(tag, Date.parse('2026-04-26T23:59:59.999Z'));
        const on = tagInForce(tag, Date.parse('2026-04-27T00:00:00.000Z'));

        expect(before.ok).toBe(true);
        expect(on).toMatchObject({ ok: false, rule: 'tag_retired' });
        expect(on.ok === false && on.message).toMatch(/retired on 2026-04-27/);
      },
    );

    it('keeps HUMAN_AGENT, with its 7-day window and its feature', () => {
      expect(tagInForce('HUMAN_AGENT', NOW)).toMatchObject({
        ok: true,
        rule: { windowMs: 7 * DAY, requires: 'human_agent' },
      });
    });

    it('refuses a tag Messenger never had', () => {
      expect(tagInForce('SHIPPING_UPDATE', NOW)).toMatchObject({ ok: false, rule: 'tag_unknown' });
    });

    it('lists only HUMAN_AGENT as in force today, and cites a source for every tag', () => {
      expect(tagsInForce(NOW)).toEqual(['HUMAN_AGENT']);
      for (const rule of MESSAGE_TAGS) expect(rule.source.length).toBeGreaterThan(20);
    });
  });
});

describe('login-connect/followup-policy', () => {
  describe('checkFollowup()', () => {
    it('sends to the linked PSID once the person wrote, inside 24 h of their last message', () => {
      expect(
        checkFollowup({ to: { loginId: 'L' }, messagingType: 'RESPONSE' }, wrote(23 * HOUR), NOW),
      ).toMatchObject({ ok: true, recipient: { id: 'P' }, messagingType: 'RESPONSE' });
    });

    it.each([
      ['UPDATE', 24 * HOUR - 1, true],
      ['UPDATE', 24 * HOUR, false],
      ['RESPONSE', 24 * HOUR - 1, true],
      ['RESPONSE', 24 * HOUR, false],
    ] as const)('%s %i ms after the last message: allowed %s', (messagingType, ago, ok) => {
      expect(checkFollowup({ to: { psid: 'P' }, messagingType }, wrote(ago), NOW)).toMatchObject(
        ok ? { ok: true } : { ok: false, status: 409, rule: 'outside_24h_window' },
      );
    });

    it('refuses anything more to a login_id that never wrote: its one first message was all', () => {
      for (const request of [
        { to: { loginId: 'L' } },
        { to: { loginId: 'L' }, messagingType: 'RESPONSE' as const },
        { to: { loginId: 'L' }, tag: 'HUMAN_AGENT' },
      ])
        expect(checkFollowup(request, sent(2), NOW, HUMAN_AGENT_ON)).toMatchObject({
          ok: false,
          status: 409,
          rule: 'conversation_not_started',
        });
    });

    it.each([
      ['inside 24 h (a tag is not needed there)', 23 * HOUR, 'tag_not_needed'],
      ['at exactly 24 h', 24 * HOUR, undefined],
      ['just inside 7 days', 7 * DAY - 1, undefined],
      ['at 7 days', 7 * DAY, 'outside_tag_window'],
    ])('HUMAN_AGENT %s', (_, ago, rule) => {
      const decision = checkFollowup(
        { to: { loginId: 'L' }, tag: 'HUMAN_AGENT' },
        wrote(ago),
        NOW,
        HUMAN_AGENT_ON,
      );

      expect(decision).toMatchObject(
        rule === undefined
          ? { ok: true, messagingType: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', recipient: { id: 'P' } }
          : { ok: false, status: 409, rule },
      );
    });

    it('refuses HUMAN_AGENT when the app was not granted the feature (the default)', () => {
      expect(
        checkFollowup({ to: { psid: 'P' }, tag: 'HUMAN_AGENT' }, wrote(2 * DAY), NOW),
      ).toMatchObject({ ok: false, status: 409, rule: 'human_agent_not_enabled' });
    });

    it('refuses a retired tag with 400, naming the date, whatever the window', () => {
      const decision = checkFollowup(
        { to: { psid: 'P' }, tag: 'ACCOUNT_UPDATE' },
        wrote(2 * DAY),
        NOW,
        HUMAN_AGENT_ON,
      );

      expect(decision).toMatchObject({ ok: false, status: 400, rule: 'tag_retired' });
      expect(decision.ok === false && decision.message).toMatch(/2026-04-27/);
    });

    it('keeps the Page lock: a login_id goes through the Page its first message used', () => {
      const state: RecipientState = { ...wrote(HOUR), lockedPageId: '222' };

      expect(checkFollowup({ to: { loginId: 'L' } }, state, NOW)).toMatchObject({
        ok: true,
        pageId: '222',
      });
    });

    it.each<[string, Parameters<typeof checkFollowup>[0], RecipientState, number, string]>([
      [
        'someone who opted out',
        { to: { loginId: 'L' } },
        { ...wrote(HOUR), suppressed: { source: 'stop', reason: 'stop_notifications' } },
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
        wrote(2 * DAY),
        400,
        'tag_required',
      ],
      [
        'a tag on an UPDATE',
        { to: { loginId: 'L' }, messagingType: 'UPDATE', tag: 'X' },
        wrote(HOUR),
        400,
        'tag_needs_message_tag',
      ],
      [
        'an unknown tag',
        { to: { psid: 'P' }, tag: 'SHIPPING_UPDATE' },
        wrote(2 * DAY),
        400,
        'tag_unknown',
      ],
      [
        'a PSID that never wrote',
        { to: { psid: 'P' } },
        { profile: { pageId: '111' } },
        409,
        'conversation_not_started',
      ],
    ])('refuses %s, naming the rule', (_name, request, state, status, rule) => {
      expect(checkFollowup(request, state, NOW)).toMatchObject({ ok: false, status, rule });
    });
  });
});
