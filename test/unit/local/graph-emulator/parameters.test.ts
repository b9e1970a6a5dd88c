import { HOUR_MS, PAGE_TOKEN } from '../../../helpers/factories';
import { LOGIN, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, update, send, optin, userMessage, call, post } = useEmulator();

  describe('parameters', () => {
    it('refuses a login_id put into recipient.id with the error Meta documents', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send({ ...update(), recipient: { id: LOGIN } });

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: {
          httpStatus: 400,
          code: 100,
          message: '(#100) Param recipient[id] must be a valid ID string (e.g., "123")',
        },
      });
    });

    it('accepts a PSID in recipient.id and answers it as recipient_id', async () => {
      // Arrange
      userMessage(HOUR_MS);

      // Act
      const answer = await post({ ...update(), recipient: { id: '1234567890123456' } });

      // Assert
      expect(answer.body).toEqual({
        recipient_id: '1234567890123456',
        message_id: expect.any(String),
      });
      expect(t.emulator.messages()).toMatchObject([{ recipient: { id: '1234567890123456' } }]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a missing recipient', { recipient: undefined }, 'The parameter recipient is required'],
      [
        'two recipient keys',
        { recipient: { login_id: LOGIN, id: '123' } },
        'Param recipient must have exactly one of id, login_id',
      ],
      [
        'a missing messaging_type',
        { messaging_type: undefined },
        'The parameter messaging_type is required',
      ],
      [
        'an unknown messaging_type',
        { messaging_type: 'NON_PROMOTIONAL_SUBSCRIPTION' },
        'Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}',
      ],
      [
        'MESSAGE_TAG without a tag',
        { messaging_type: 'MESSAGE_TAG' },
        'Param tag is required when messaging_type is MESSAGE_TAG',
      ],
      [
        'a tag without MESSAGE_TAG',
        { tag: 'ACCOUNT_UPDATE' },
        'Param tag can only be used with messaging_type MESSAGE_TAG',
      ],
      [
        'an invalid quick reply',
        { message: { text: 'hi', quick_replies: [{ content_type: 'text', title: 'Go' }] } },
        'Param message[quick_replies][0][payload] is required for a text quick reply',
      ],
      [
        'an unknown message field',
        { message: { text: 'hi', colour: 'red' } },
        'Param message[colour] is not a valid parameter',
      ],
      ['a missing message', { message: undefined }, 'The parameter message is required'],
    ])('refuses %s with a (#100) error naming the param', async (_, change, message) => {
      // Arrange
      optin();

      // Act
      const answer = await post({ ...update(), ...change });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/^\(#100\) /),
      });
      expect(answer.body.error?.message).toContain(message);
      expect(t.emulator.messages()).toEqual([]);
    });

    it('refuses 2001 characters of text naming message[text] and accepts 2000', async () => {
      // Arrange
      optin();

      // Act
      const tooLong = await post(update(LOGIN, 'x'.repeat(2001)));
      const longest = await post(update(LOGIN, 'x'.repeat(2000)));

      // Assert
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error?.message).toBe(
        '(#100) Length of param message[text] must be less than or equal to 2000',
      );
      expect(longest.status).toBe(200);
    });

    it('refuses a message without text or attachment with 100/2018034', async () => {
      // Arrange
      optin();

      // Act
      const answer = await post({ ...update(), message: {} });

      // Assert
      expect(answer.body.error).toMatchObject({ code: 100, error_subcode: 2018034 });
    });

    it('refuses a body that is not JSON', async () => {
      // Act
      const answer = await call(`/${VERSION}/me/messages`, {
        body: '{"recipient":',
        headers: { 'content-type': 'application/json' },
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringContaining('not valid JSON'),
      });
    });
  });

  describe('other routes', () => {
    it('answers an unknown path with a 404 Graph error', async () => {
      // Act
      const answer = await call('/v25.0/me/conversations', { method: 'GET' });

      // Assert
      expect(answer.status).toBe(404);
      expect(answer.body.error).toMatchObject({ code: 100, fbtrace_id: expect.any(String) });
    });

    it('refuses GET on the messages edge', async () => {
      // Act
      const answer = await call(`/${VERSION}/me/messages?access_token=${PAGE_TOKEN}`, {
        method: 'GET',
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/^Unsupported get request/),
      });
    });

    it('answers /{user-id}/permissions with the default grants or the configured ones', async () => {
      // Arrange
      t.emulator.setPermissions({ userId: '42', granted: ['public_profile'], declined: ['email'] });

      // Act
      const byDefault = await call(`/${VERSION}/7/permissions?access_token=user-token`, {
        method: 'GET',
      });
      const configured = await call(`/${VERSION}/42/permissions`, {
        method: 'GET',
        headers: { authorization: 'Bearer user-token' },
      });
      const anonymous = await call(`/${VERSION}/42/permissions`, { method: 'GET' });

      // Assert
      expect(byDefault.body).toEqual({
        data: [
          { permission: 'public_profile', status: 'granted' },
          { permission: 'user_messenger_contact', status: 'granted' },
        ],
      });
      expect(configured.body).toEqual({
        data: [
          { permission: 'public_profile', status: 'granted' },
          { permission: 'email', status: 'declined' },
        ],
      });
      expect(anonymous.body.error).toMatchObject({ code: 104 });
    });
  });
});
