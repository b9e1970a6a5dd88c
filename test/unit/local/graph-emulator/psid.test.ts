import type { SendApiBody } from '../../../../shared/graph/send-api';
import { classifySendFailure } from '../../../../shared/login-connect/send-errors';
import { HOUR_MS, OTHER_PAGE_ID, OTHER_PAGE_TOKEN, PAGE_ID } from '../../../helpers/factories';
import {
  DAY_MS,
  NO_MATCHING_USER,
  OUTSIDE_WINDOW,
  PSID,
  T0,
  UNAVAILABLE_FAILURE,
  useEmulator,
} from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, userMessage, toPsid, post } = useEmulator();

  describe('POST /{version}/me/messages to a PSID', () => {
    it('refuses a PSID the Page has never seen with 100/2018001', async () => {
      // Arrange
      userMessage(HOUR_MS, PSID, OTHER_PAGE_ID);

      // Act
      const answer = await post(toPsid());
      const tagged = await post(toPsid(PSID, 'MESSAGE_TAG'));

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        ...NO_MATCHING_USER,
        fbtrace_id: expect.any(String),
      });
      expect(tagged.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(t.emulator.messages()).toEqual([]);
    });

    describe('Message Tags as they stand after 27 April 2026', () => {
      const AFTER_RETIREMENT = Date.parse('2026-05-01T12:00:00.000Z');
      const tagged = (tag: string) => ({ ...toPsid(PSID, 'MESSAGE_TAG'), tag });

      it.each(['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'NO_SUCH_TAG'])(
        'refuses %s with code 100 "Invalid parameter" and sends nothing',
        async (tag) => {
          t.clock = AFTER_RETIREMENT;
          userMessage(2 * DAY_MS);

          const answer = await post(tagged(tag));

          expect(answer.status).toBe(400);
          expect(answer.body.error).toMatchObject({
            code: 100,
            message: '(#100) Invalid parameter',
          });
          expect(t.emulator.messages()).toEqual([]);
        },
      );

      it.each([
        ['2 days', 2 * DAY_MS, 200],
        ['7 days less 1 ms', 7 * DAY_MS - 1, 200],
        ['7 days', 7 * DAY_MS, 400],
      ])('answers HUMAN_AGENT %s after the user message with HTTP %s', async (_, ago, status) => {
        t.clock = AFTER_RETIREMENT;
        userMessage(ago);

        const answer = await post(tagged('HUMAN_AGENT'));

        expect(answer.status).toBe(status);
        if (status === 400)
          expect(answer.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      });
    });

    it.each<[SendApiBody['messaging_type'], string, number, number]>([
      ['UPDATE', '23 h', 23 * HOUR_MS, 200],
      ['RESPONSE', '23 h', 23 * HOUR_MS, 200],
      ['UPDATE', 'exactly 24 h', DAY_MS, 200],
      ['UPDATE', '24 h and 1 ms', DAY_MS + 1, 400],
      ['UPDATE', '25 h', 25 * HOUR_MS, 400],
      ['RESPONSE', '25 h', 25 * HOUR_MS, 400],
      ['MESSAGE_TAG', '25 h', 25 * HOUR_MS, 200],
      ['MESSAGE_TAG', '30 days', 30 * DAY_MS, 200],
    ])('answers %s sent %s after the user message with HTTP %s', async (type, _, ago, status) => {
      // Arrange
      userMessage(ago);

      // Act
      const answer = await post(toPsid(PSID, type));

      // Assert
      expect(answer.status).toBe(status);
      if (status === 400) {
        expect(answer.body.error).toMatchObject(OUTSIDE_WINDOW);
        expect(t.emulator.messages()).toEqual([]);
      } else {
        expect(answer.body).toEqual({ recipient_id: PSID, message_id: expect.any(String) });
      }
    });

    it('classifies an UPDATE 25 h after the user message as window_closed through sendApiClient', async () => {
      // Arrange
      userMessage(25 * HOUR_MS);

      // Act
      const outcome = await send(toPsid());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({ httpStatus: 400, code: 10, subcode: 2018278 });
      expect(classifySendFailure(outcome.failure)).toBe('window_closed');
    });

    it('moves the window forward on a later user message and not back on an older one', async () => {
      // Arrange
      userMessage(25 * HOUR_MS);
      const closed = await post(toPsid());
      const later = userMessage(HOUR_MS);
      const older = userMessage(3 * DAY_MS);

      // Act
      const reopened = await post(toPsid());
      t.clock += 22 * HOUR_MS;
      const stillOpen = await post(toPsid());
      t.clock += 2 * HOUR_MS;
      const closedAgain = await post(toPsid());

      // Assert
      expect(closed.status).toBe(400);
      expect(later).toEqual({
        psid: PSID,
        pageId: PAGE_ID,
        lastMessageAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(older).toEqual(later);
      expect(reopened.status).toBe(200);
      expect(stillOpen.status).toBe(200);
      expect(closedAgain.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(t.emulator.state().userMessages).toEqual([later]);
    });

    it('refuses an opted-out PSID with 551, only on the named Page when the opt-out has one', async () => {
      // Arrange
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, PSID, OTHER_PAGE_ID);
      userMessage(HOUR_MS, '2222222222222222');
      t.emulator.registerOptout({ psid: PSID, pageId: PAGE_ID });
      t.emulator.registerOptout({ psid: '2222222222222222' });

      // Act
      const outcome = await send(toPsid());
      const tagged = await post(toPsid(PSID, 'MESSAGE_TAG'));
      const otherPage = await post(toPsid(), OTHER_PAGE_TOKEN);
      const everywhere = await post(toPsid('2222222222222222'));

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject(UNAVAILABLE_FAILURE);
      expect(classifySendFailure(outcome.failure)).toBe('opted_out');
      expect(tagged.body.error).toMatchObject({ code: 551 });
      expect(otherPage.status).toBe(200);
      expect(everywhere.body.error).toMatchObject({ code: 551 });
    });

    it('refuses 551 before 2018001 for an opted-out PSID the Page has never seen', async () => {
      // Arrange
      t.emulator.registerOptout({ psid: PSID });

      // Act
      const answer = await post(toPsid());

      // Assert
      expect(answer.body.error).toMatchObject({ code: 551 });
    });

    it('answers a queued fault to a PSID send before the PSID rules', async () => {
      // Arrange
      t.emulator.addFault({ kind: 'rate_limit' });

      // Act
      const faulted = await post(toPsid());
      const unknown = await post(toPsid());

      // Assert
      expect(faulted.body.error).toMatchObject({ code: 613 });
      expect(unknown.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(t.emulator.requests().map((r) => r.outcome)).toEqual(['fault', 'refused']);
    });

    it('forgets user messages and known PSIDs on reset', async () => {
      // Arrange
      optin();
      userMessage(HOUR_MS);
      const first = await post(update());
      const linked = String(first.body.recipient_id);

      // Act
      t.emulator.reset();
      const toUser = await post(toPsid());
      const toLinked = await post(toPsid(linked, 'MESSAGE_TAG'));

      // Assert
      expect(t.emulator.state()).toMatchObject({ userMessages: [], psids: [] });
      expect(toUser.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(toLinked.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
    });
  });
});
