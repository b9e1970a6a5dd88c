import {
  applySend,
  decideSend,
  type KnownPsid,
  type MutableRulesState,
  type Optin,
  type SendDecision,
} from '../../../../infra/local/graph-emulator';
import { HOUR_MS, OTHER_PAGE_ID, PAGE_ID } from '../../../helpers/factories';
import { DAY_MS, LOGIN, NO_MATCHING_USER, OUTSIDE_WINDOW, PSID, T0 } from './harness';

const MESSAGE_ID = 'm_test';

/** An empty state, with the given opt-ins, user messages (by PSID, at), opt-outs. */
function stateWith(
  init: {
    optins?: Optin[];
    userMessages?: { psid: string; pageId?: string; at: number }[];
    optouts?: MutableRulesState['optouts'];
    psids?: KnownPsid[];
  } = {},
): MutableRulesState {
  const key = (pageId: string, psid: string) => `${pageId}/${psid}`;
  const userMessages = new Map(
    (init.userMessages ?? []).map(({ psid, pageId = PAGE_ID, at }) => [
      key(pageId, psid),
      { psid, pageId, lastMessageAt: at, windowClosesAt: at + DAY_MS },
    ]),
  );
  const psids = new Map<string, KnownPsid>(
    [...userMessages.values()].map(({ psid, pageId }) => [key(pageId, psid), { psid, pageId }]),
  );
  for (const known of init.psids ?? []) psids.set(key(known.pageId, known.psid), known);
  return {
    optins: new Map((init.optins ?? []).map((o) => [o.loginId, o])),
    optouts: init.optouts ?? [],
    userMessages,
    psids,
    sent: [],
  };
}

const optedIn = (at = T0 - HOUR_MS, extra: Partial<Optin> = {}): Optin => ({
  loginId: LOGIN,
  pageId: PAGE_ID,
  optedInAt: at,
  windowClosesAt: at + DAY_MS,
  ...extra,
});

const toLogin = (messagingType = 'UPDATE', extra: Record<string, unknown> = {}) => ({
  recipient: { login_id: LOGIN },
  messaging_type: messagingType,
  message: { text: 'Welcome' },
  ...extra,
});
const toPsid = (messagingType = 'UPDATE', extra: Record<string, unknown> = {}) => ({
  recipient: { id: PSID },
  messaging_type: messagingType,
  message: { text: 'Your order has shipped' },
  ...extra,
});

const decide = (
  state: MutableRulesState,
  params: Record<string, unknown>,
  now = T0,
  pageId = PAGE_ID,
) => decideSend(state, { pageId, params }, now, MESSAGE_ID);

/** The refusal's Graph error, or a failure naming the answer. */
function refusalOf(decision: SendDecision) {
  if (!('refusal' in decision)) throw new Error(`accepted: ${JSON.stringify(decision.answer)}`);
  return decision.refusal;
}

function accepted(decision: SendDecision) {
  if ('refusal' in decision) throw new Error(`refused: ${decision.refusal.error.message}`);
  return decision;
}

describe('infra/local/graph-emulator/rules', () => {
  describe('decideSend to a login_id', () => {
    it('accepts the first message within 24 h of the opt-in and says what it changes', () => {
      // Arrange
      const state = stateWith({ optins: [optedIn()] });
      const before = structuredClone(state);

      // Act
      const { answer, change } = accepted(decide(state, toLogin()));

      // Assert
      expect(answer).toEqual({
        recipient_id: expect.stringMatching(/^[1-9]\d{15}$/),
        message_id: MESSAGE_ID,
      });
      expect(change).toEqual({
        lock: { loginId: LOGIN, lockedAt: T0 },
        knownPsid: { psid: answer.recipient_id, pageId: PAGE_ID, loginId: LOGIN },
        message: {
          messageId: MESSAGE_ID,
          pageId: PAGE_ID,
          recipient: { login_id: LOGIN },
          messagingType: 'UPDATE',
          message: { text: 'Welcome' },
          at: new Date(T0).toISOString(),
          recipientId: answer.recipient_id,
        },
      });
      expect(state).toEqual(before);
    });

    it('answers the same linked PSID on every decision, another one on another Page', () => {
      // Arrange
      const here = stateWith({ optins: [optedIn()] });
      const there = stateWith({ optins: [optedIn(T0 - HOUR_MS, { pageId: OTHER_PAGE_ID })] });

      // Act
      const first = accepted(decide(here, toLogin())).answer.recipient_id;
      const again = accepted(decide(here, toLogin())).answer.recipient_id;
      const other = accepted(decide(there, toLogin(), T0, OTHER_PAGE_ID)).answer.recipient_id;

      // Assert
      expect(again).toBe(first);
      expect(other).not.toBe(first);
    });

    it('applySend locks the login_id, makes its linked PSID known and records the message', () => {
      // Arrange
      const state = stateWith({ optins: [optedIn()] });
      const { answer, change } = accepted(decide(state, toLogin()));

      // Act
      applySend(state, change);

      // Assert
      expect(state.optins.get(LOGIN)?.lockedAt).toBe(T0);
      expect([...state.psids.values()]).toEqual([
        { psid: answer.recipient_id, pageId: PAGE_ID, loginId: LOGIN },
      ]);
      expect(state.sent).toEqual([change.message]);
      // A later message is no longer the first: no new lock, a tag is now allowed.
      const later = accepted(decide(state, toLogin('MESSAGE_TAG', { tag: 'ACCOUNT_UPDATE' })));
      expect(later.change.lock).toBeUndefined();
    });

    it('refuses an unknown login_id, another Page, and a tag on the first message', () => {
      // Arrange
      const state = stateWith({ optins: [optedIn()] });

      // Act
      const unknown = refusalOf(decide(stateWith(), toLogin()));
      const otherPage = refusalOf(decide(state, toLogin(), T0, OTHER_PAGE_ID));
      const tagged = refusalOf(decide(state, toLogin('MESSAGE_TAG', { tag: 'HUMAN_AGENT' })));

      // Assert
      expect(unknown).toEqual({ status: 400, error: NO_MATCHING_USER });
      expect(otherPage.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/login_id can only be messaged by the Page/),
      });
      expect(tagged.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/Message Tags cannot be used for the initial message/),
      });
    });

    it.each([
      ['at the last instant of the window', DAY_MS - HOUR_MS, true],
      ['one millisecond after it', DAY_MS - HOUR_MS + 1, false],
    ])('decides a first message %s', (_, elapsed, ok) => {
      // Arrange
      const state = stateWith({ optins: [optedIn()] });

      // Act
      const decision = decide(state, toLogin(), T0 + elapsed);

      // Assert
      if (ok) expect(accepted(decision).answer.message_id).toBe(MESSAGE_ID);
      else expect(refusalOf(decision).error).toEqual(OUTSIDE_WINDOW);
    });

    it('accepts a later UPDATE after 24 h only while the linked PSID messaged within 24 h', () => {
      // Arrange
      const state = stateWith({ optins: [optedIn(T0, { lockedAt: T0 })] });
      const later = T0 + 3 * DAY_MS;
      const linked = accepted(decide(state, toLogin())).answer.recipient_id as string;

      // Act
      const silent = decide(state, toLogin(), later);
      const replied = stateWith({
        optins: [optedIn(T0, { lockedAt: T0 })],
        userMessages: [{ psid: linked, at: later - HOUR_MS }],
      });
      const afterReply = decide(replied, toLogin(), later);

      // Assert
      expect(refusalOf(silent).error).toEqual(OUTSIDE_WINDOW);
      expect(accepted(afterReply).change.lock).toBeUndefined();
    });

    it('refuses 551 when the login_id, or its linked PSID, is opted out on this Page', () => {
      // Arrange
      const base = stateWith({ optins: [optedIn()] });
      const linked = accepted(decide(base, toLogin())).answer.recipient_id as string;

      // Act
      const byLogin = decide(
        stateWith({ optins: [optedIn()], optouts: [{ loginId: LOGIN }] }),
        toLogin(),
      );
      const byPsid = decide(
        stateWith({ optins: [optedIn()], optouts: [{ psid: linked }] }),
        toLogin(),
      );
      const elsewhere = decide(
        stateWith({ optins: [optedIn()], optouts: [{ loginId: LOGIN, pageId: OTHER_PAGE_ID }] }),
        toLogin(),
      );

      // Assert
      expect(refusalOf(byLogin).error.code).toBe(551);
      expect(refusalOf(byPsid).error.code).toBe(551);
      expect(accepted(elsewhere).answer.message_id).toBe(MESSAGE_ID);
    });
  });

  describe('decideSend to a PSID', () => {
    it("accepts an UPDATE within 24 h of the person's message, without a lock or a new PSID", () => {
      // Arrange
      const state = stateWith({ userMessages: [{ psid: PSID, at: T0 - HOUR_MS }] });

      // Act
      const { answer, change } = accepted(decide(state, toPsid()));

      // Assert
      expect(answer).toEqual({ recipient_id: PSID, message_id: MESSAGE_ID });
      expect(change.lock).toBeUndefined();
      expect(change.knownPsid).toBeUndefined();
    });

    it('refuses a PSID the Page does not know, and an UPDATE outside its window', () => {
      // Arrange
      const old = stateWith({ userMessages: [{ psid: PSID, at: T0 - 25 * HOUR_MS }] });
      const knownOnly = stateWith({ psids: [{ psid: PSID, pageId: PAGE_ID, loginId: LOGIN }] });

      // Act / Assert
      expect(refusalOf(decide(stateWith(), toPsid())).error).toEqual(NO_MATCHING_USER);
      expect(refusalOf(decide(old, toPsid())).error).toEqual(OUTSIDE_WINDOW);
      expect(refusalOf(decide(knownOnly, toPsid())).error).toEqual(OUTSIDE_WINDOW);
    });

    it('refuses 551 before 2018001 for an opted-out PSID the Page never saw', () => {
      // Arrange
      const state = stateWith({ optouts: [{ psid: PSID }] });

      // Act / Assert
      expect(refusalOf(decide(state, toPsid())).error.code).toBe(551);
    });

    it.each([
      ['6 days', 6 * DAY_MS, true],
      ['8 days', 8 * DAY_MS, false],
    ])("decides HUMAN_AGENT %s after the person's last message", (_, ago, ok) => {
      // Arrange
      const state = stateWith({ userMessages: [{ psid: PSID, at: T0 - ago }] });

      // Act
      const decision = decide(state, toPsid('MESSAGE_TAG', { tag: 'HUMAN_AGENT' }));

      // Assert
      if (ok) expect(accepted(decision).change.message.tag).toBe('HUMAN_AGENT');
      else expect(refusalOf(decision).error).toEqual(OUTSIDE_WINDOW);
    });

    it('refuses a tag retired on 27 April 2026 from that day on', () => {
      // Arrange
      const state = stateWith({ userMessages: [{ psid: PSID, at: T0 - HOUR_MS }] });
      const tagged = toPsid('MESSAGE_TAG', { tag: 'ACCOUNT_UPDATE' });
      const retired = Date.parse('2026-04-27T00:00:00.000Z');
      const later = stateWith({ userMessages: [{ psid: PSID, at: retired - HOUR_MS }] });

      // Act / Assert
      expect(accepted(decide(state, tagged)).change.message.tag).toBe('ACCOUNT_UPDATE');
      expect(refusalOf(decide(later, tagged, retired)).error.message).toBe(
        '(#100) Invalid parameter',
      );
    });
  });

  describe('decideSend parameters', () => {
    it.each<[string, Record<string, unknown>, string]>([
      [
        'no recipient',
        { messaging_type: 'UPDATE', message: { text: 'x' } },
        'The parameter recipient is required',
      ],
      [
        'two recipients',
        toPsid('UPDATE', { recipient: { id: PSID, login_id: LOGIN } }),
        'Param recipient must have exactly one of',
      ],
      [
        'a login_id in recipient.id',
        toPsid('UPDATE', { recipient: { id: LOGIN } }),
        'Param recipient[id] must be a valid ID string',
      ],
      [
        'no messaging_type',
        toPsid('UPDATE', { messaging_type: '' }),
        'The parameter messaging_type is required',
      ],
      [
        'an unknown messaging_type',
        toPsid('PROMO'),
        'Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG} - got "PROMO"',
      ],
      [
        'a tag without MESSAGE_TAG',
        toPsid('UPDATE', { tag: 'HUMAN_AGENT' }),
        'Param tag can only be used with messaging_type MESSAGE_TAG',
      ],
      [
        'MESSAGE_TAG without a tag',
        toPsid('MESSAGE_TAG'),
        'Param tag is required when messaging_type is MESSAGE_TAG',
      ],
      [
        'an unknown notification_type',
        toPsid('UPDATE', { notification_type: 'LOUD' }),
        'Param notification_type must be one of {REGULAR, SILENT_PUSH, NO_PUSH} - got "LOUD"',
      ],
      ['no message', toPsid('UPDATE', { message: undefined }), 'The parameter message is required'],
      [
        'an empty text',
        toPsid('UPDATE', { message: { text: '' } }),
        'Message cannot be empty, must provide valid attachment or text',
      ],
    ])('refuses %s with code 100 before the recipient rules', (_, params, message) => {
      // Act: an empty state would refuse the recipient itself, so code 100 comes from the params.
      const refusal = refusalOf(decide(stateWith(), params));

      // Assert
      expect(refusal.status).toBe(400);
      expect(refusal.error.code).toBe(100);
      expect(refusal.error.message).toContain(message);
    });

    it('accepts other recipient kinds unchecked; recipient_id only where Graph answers one', () => {
      // Act
      const userRef = accepted(
        decide(stateWith(), toPsid('RESPONSE', { recipient: { user_ref: 'u1' } })),
      );
      const post = accepted(
        decide(stateWith(), toPsid('RESPONSE', { recipient: { post_id: 'p1' } })),
      );

      // Assert
      expect(userRef.answer).toEqual({ message_id: MESSAGE_ID });
      expect(post.answer.recipient_id).toMatch(/^[1-9]\d{15}$/);
      expect(post.change.knownPsid).toBeUndefined();
    });

    it('takes a numeric PSID as its digits and keeps notification_type', () => {
      // Arrange
      const state = stateWith({ userMessages: [{ psid: PSID, at: T0 - HOUR_MS }] });

      // Act
      const { change } = accepted(
        decide(
          state,
          toPsid('RESPONSE', { recipient: { id: Number(PSID) }, notification_type: 'SILENT_PUSH' }),
        ),
      );

      // Assert
      expect(change.message).toMatchObject({
        recipient: { id: PSID },
        notificationType: 'SILENT_PUSH',
      });
    });
  });
});
