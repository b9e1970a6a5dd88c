import { classifySendFailure } from '../../../../shared/login-connect/send-errors';
import { HOUR_MS, OTHER_PAGE_ID, OTHER_PAGE_TOKEN, PAGE_ID } from '../../../helpers/factories';
import {
  DAY_MS,
  LOGIN,
  NO_MATCHING_USER,
  OUTSIDE_WINDOW,
  T0,
  UNAVAILABLE_FAILURE,
  useEmulator,
} from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, post } = useEmulator();

  describe('POST /{version}/me/messages to a login_id', () => {
    it('accepts a first message from sendApiClient and locks the login_id to its Page', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome).toEqual({
        ok: true,
        httpStatus: 200,
        messageId: expect.stringMatching(/^m_[\w-]+$/),
        recipientId: expect.stringMatching(/^[1-9]\d{15}$/),
        usage: expect.objectContaining({ business: { [PAGE_ID]: [expect.any(Object)] } }),
      });
      if (!outcome.ok) throw new Error('unreachable');
      expect(t.emulator.messages()).toEqual([
        {
          messageId: outcome.messageId,
          pageId: PAGE_ID,
          recipient: { login_id: LOGIN },
          messagingType: 'UPDATE',
          message: { text: 'Welcome to Messenger' },
          at: new Date(T0).toISOString(),
          recipientId: outcome.recipientId,
        },
      ]);
      expect(t.emulator.state().locks).toEqual([{ loginId: LOGIN, pageId: PAGE_ID, lockedAt: T0 }]);
    });

    it('returns the same recipient_id for a login_id and Page on every send', async () => {
      // Arrange
      optin();
      optin('login-other');

      // Act
      const first = await post(update());
      const second = await post(update());
      const other = await post(update('login-other'));

      // Assert
      expect(first.body.recipient_id).toBe(second.body.recipient_id);
      expect(first.body.message_id).not.toBe(second.body.message_id);
      expect(other.body.recipient_id).not.toBe(first.body.recipient_id);
    });

    it('refuses another Page once the login_id has been messaged', async () => {
      // Arrange
      optin();
      await send(update());

      // Act
      const refused = await post(update(), OTHER_PAGE_TOKEN);
      const again = await post(update());

      // Assert
      expect(refused.status).toBe(400);
      expect(refused.body.error).toEqual({
        message:
          '(#100) This login_id can only be messaged by the Page it was first messaged through',
        type: 'OAuthException',
        code: 100,
        fbtrace_id: expect.any(String),
      });
      expect(again.status).toBe(200);
      expect(t.emulator.messages().map((m) => m.pageId)).toEqual([PAGE_ID, PAGE_ID]);
    });

    it('refuses a Page other than the opt-in Page before any message', async () => {
      // Arrange
      optin(LOGIN, OTHER_PAGE_ID);

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: { httpStatus: 400, code: 100, message: expect.stringContaining('first messaged') },
      });
      expect(t.emulator.state().locks).toEqual([]);
    });

    it('refuses an unknown login_id with 100/2018001', async () => {
      // Act
      const answer = await post(update('never-opted-in'));

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        ...NO_MATCHING_USER,
        fbtrace_id: expect.any(String),
      });
      expect(answer.headers.get('x-fb-trace-id')).toBe(answer.body.error?.fbtrace_id);
    });

    it.each([
      ['1 ms after the opt-in', 1, 200],
      ['1 ms before 24 h', DAY_MS - 1, 200],
      ['exactly 24 h', DAY_MS, 200],
      ['1 ms after 24 h', DAY_MS + 1, 400],
      ['3 days', 3 * DAY_MS, 400],
    ])('answers a first message sent %s after the opt-in with HTTP %s', async (_, age, status) => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      t.clock = T0 + age;

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.status).toBe(status);
      if (status === 400) {
        expect(answer.body.error).toMatchObject(OUTSIDE_WINDOW);
      }
    });

    it('classifies a first message outside the window as window_closed through sendApiClient', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0 - DAY_MS - 1);

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(classifySendFailure(outcome.failure)).toBe('window_closed');
      expect(t.emulator.messages()).toEqual([]);
    });

    it('refuses a Message Tag on the first message and accepts one after the window', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      const tagged = { ...update(), messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' };

      // Act
      const firstTagged = await post(tagged);
      const first = await post(update());
      t.clock = T0 + DAY_MS + HOUR_MS;
      const lateUpdate = await post(update());
      const lateTagged = await post(tagged);

      // Assert
      expect(firstTagged.status).toBe(400);
      expect(firstTagged.body.error?.message).toBe(
        '(#100) Message Tags cannot be used for the initial message to a login_id',
      );
      expect(first.status).toBe(200);
      expect(lateUpdate.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(lateTagged.status).toBe(200);
      expect(t.emulator.messages().map((m) => [m.messagingType, m.tag])).toEqual([
        ['UPDATE', undefined],
        ['MESSAGE_TAG', 'ACCOUNT_UPDATE'],
      ]);
    });

    it('refuses an opted-out login_id with 551, classified as opted_out', async () => {
      // Arrange
      optin();
      t.emulator.registerOptout({ loginId: LOGIN });

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject(UNAVAILABLE_FAILURE);
      expect(classifySendFailure(outcome.failure)).toBe('opted_out');
    });

    it('refuses only the named Page when an opt-out has a pageId', async () => {
      // Arrange
      optin();
      t.emulator.registerOptout({ loginId: LOGIN, pageId: OTHER_PAGE_ID });

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.status).toBe(200);
    });

    it('restarts the window and clears the lock when the opt-in is registered again', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      await post(update());
      t.clock = T0 + 2 * DAY_MS;

      // Act
      const stale = await post(update());
      optin(LOGIN, OTHER_PAGE_ID, t.clock);
      const otherPage = await post(update(), OTHER_PAGE_TOKEN);

      // Assert
      expect(stale.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(otherPage.status).toBe(200);
      expect(t.emulator.state().locks).toEqual([
        { loginId: LOGIN, pageId: OTHER_PAGE_ID, lockedAt: t.clock },
      ]);
    });
  });
});
