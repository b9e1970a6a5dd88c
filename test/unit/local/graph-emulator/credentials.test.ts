import { GraphEmulator } from '../../../../infra/local/graph-emulator';
import { sendApiClient } from '../../../../shared/graph/send-api';
import { classifySendFailure } from '../../../../shared/login-connect/send-errors';
import { APP_SECRET, OTHER_PAGE_ID, PAGE_ID, PAGE_TOKEN } from '../../../helpers/factories';
import { type Body, LOGIN, proofOf, useEmulator, VERSION } from './harness';

describe('infra/local/graph-emulator', () => {
  const { t, secrets, client, update, send, optin, call, post } = useEmulator();

  describe('credentials', () => {
    it('refuses a request without a token with code 2500', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages`, { json: update() });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        message: 'An active access token must be used to query information about the current user.',
        type: 'OAuthException',
        code: 2500,
        fbtrace_id: expect.any(String),
      });
    });

    it('refuses an unknown token with code 190, classified as token_invalid', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send(update(), 'EAAB-not-a-page-token');

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({
        httpStatus: 400,
        code: 190,
        type: 'OAuthException',
        message: 'Invalid OAuth access token - Cannot parse access token',
      });
      expect(classifySendFailure(outcome.failure)).toBe('token_invalid');
    });

    it('accepts the token in an Authorization: Bearer header', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        json: update(),
        headers: { authorization: `Bearer ${PAGE_TOKEN}` },
      });

      // Assert
      expect(answer.status).toBe(200);
      expect(t.emulator.requests().at(-1)).toMatchObject({ tokenIn: 'header', pageId: PAGE_ID });
    });

    it.each<[string, () => { query: string; body: Body }]>([
      [
        'multipart form fields with JSON strings (curl -F)',
        () => {
          const form = new FormData();
          form.set('recipient', JSON.stringify({ login_id: LOGIN }));
          form.set('messaging_type', 'UPDATE');
          form.set('message', JSON.stringify({ text: 'hi' }));
          form.set('access_token', PAGE_TOKEN);
          form.set('appsecret_proof', proofOf(PAGE_TOKEN));
          return { query: '', body: form };
        },
      ],
      [
        'url-encoded bracket fields',
        () => ({
          query: '',
          body: new URLSearchParams({
            'recipient[login_id]': LOGIN,
            messaging_type: 'UPDATE',
            'message[text]': 'hi',
            access_token: PAGE_TOKEN,
            appsecret_proof: proofOf(PAGE_TOKEN),
          }),
        }),
      ],
      [
        'every parameter in the query string',
        () => ({
          query: `?${new URLSearchParams({
            recipient: JSON.stringify({ login_id: LOGIN }),
            messaging_type: 'UPDATE',
            message: JSON.stringify({ text: 'hi' }),
            access_token: PAGE_TOKEN,
            appsecret_proof: proofOf(PAGE_TOKEN),
          })}`,
          body: '',
        }),
      ],
    ])('accepts %s', async (_, build) => {
      // Arrange
      optin();
      const { query, body } = build();

      // Act
      const answer = await call(`/${VERSION}/me/messages${query}`, { body });

      // Assert
      expect(answer.status).toBe(200);
      expect(t.emulator.messages()).toMatchObject([
        { recipient: { login_id: LOGIN }, message: { text: 'hi' } },
      ]);
    });

    it('refuses a request without appsecret_proof', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages`, {
        json: { ...update(), access_token: PAGE_TOKEN },
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        type: 'GraphMethodException',
        message: 'API calls from the server require an appsecret_proof argument',
      });
    });

    it('refuses an appsecret_proof made with another secret', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await client()({
        accessToken: PAGE_TOKEN,
        appSecret: 'not-the-app-secret',
        body: update(),
      });

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: {
          httpStatus: 400,
          code: 100,
          type: 'GraphMethodException',
          message: 'Invalid appsecret_proof provided in the API argument',
        },
      });
      expect(t.emulator.messages()).toEqual([]);
    });

    it('accepts a request without appsecret_proof when requireAppSecretProof is false', async () => {
      // Arrange
      const lenient = await GraphEmulator.start({
        secrets: async () => secrets,
        requireAppSecretProof: false,
      });
      lenient.registerOptin({ loginId: LOGIN, pageId: PAGE_ID });

      try {
        // Act
        const response = await fetch(`${lenient.url}/v2.0/me/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...update(), access_token: PAGE_TOKEN }),
        });

        // Assert
        expect(response.status).toBe(200);
        expect(lenient.messages()).toHaveLength(1);
      } finally {
        await lenient.close();
      }
    });

    it('answers a retryable 500 naming the cause when the secrets cannot be read', async () => {
      // Arrange
      const broken = await GraphEmulator.start({
        secrets: () => {
          throw new Error('Unexpected end of JSON input');
        },
      });

      try {
        // Act
        const outcome = await sendApiClient({
          baseUrl: broken.url,
          version: VERSION,
          timeoutMs: 2000,
        })({ accessToken: PAGE_TOKEN, appSecret: APP_SECRET, body: update() });

        // Assert
        if (outcome.ok) throw new Error('expected a refusal');
        expect(outcome.failure).toMatchObject({
          httpStatus: 500,
          code: 1,
          message: expect.stringContaining('Unexpected end of JSON input'),
        });
        expect(classifySendFailure(outcome.failure)).toBe('transient');
        expect(broken.requests()).toMatchObject([{ status: 500, outcome: 'refused' }]);
      } finally {
        await broken.close();
      }
    });

    it('accepts POST /{page-id}/messages for the token Page and refuses another Page id', async () => {
      // Arrange
      optin();

      // Act
      const own = await post(update(), PAGE_TOKEN, PAGE_ID);
      const foreign = await post(update(), PAGE_TOKEN, OTHER_PAGE_ID);

      // Assert
      expect(own.status).toBe(200);
      expect(foreign.status).toBe(400);
      expect(foreign.body.error).toMatchObject({
        code: 100,
        error_subcode: 33,
        type: 'GraphMethodException',
        message: expect.stringContaining(`Object with ID '${OTHER_PAGE_ID}' does not exist`),
      });
    });
  });
});
