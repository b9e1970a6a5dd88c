import { createHmac } from 'node:crypto';
import { appSecretProof, sendApiClient } from '../../../shared/graph/send-api';
import { GraphStub, graphError } from '../../helpers/graph-stub';

const TOKEN = 'EAAB-secret-page-token';
const SECRET = 'app-secret';
const body = {
  recipient: { login_id: 'L1' },
  messaging_type: 'UPDATE' as const,
  message: { text: 'hi' },
};

describe('graph/send-api', () => {
  const graph = new GraphStub();
  beforeAll(() => graph.start());
  afterAll(() => graph.stop());

  describe('sendApiClient()', () => {
    it('posts to {base}/{version}/me/messages with the token in the body and appsecret_proof in the query', async () => {
      const send = sendApiClient({ baseUrl: `${graph.url}/`, version: 'v25.0', timeoutMs: 2000 });

      const outcome = await send({ accessToken: TOKEN, appSecret: SECRET, body });

      const call = graph.calls.at(-1);
      expect(outcome).toMatchObject({ ok: true, httpStatus: 200 });
      expect(call?.method).toBe('POST');
      expect(call?.path).toBe('/v25.0/me/messages');
      expect(call?.body).toEqual({ ...body, access_token: TOKEN });
      expect(call?.query.get('appsecret_proof')).toBe(
        createHmac('sha256', SECRET).update(TOKEN).digest('hex'),
      );
      expect(call?.query.has('access_token')).toBe(false);
      expect(call?.headers['content-type']).toBe('application/json');
    });

    it('returns message_id and recipient_id from a success', async () => {
      graph.answer({ status: 200, body: { recipient_id: 'PSID9', message_id: 'm_9' } });
      const send = sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 });

      expect(await send({ accessToken: TOKEN, appSecret: SECRET, body })).toEqual({
        ok: true,
        httpStatus: 200,
        messageId: 'm_9',
        recipientId: 'PSID9',
      });
    });

    it('reads code, subcode, type and trace id from a Graph error', async () => {
      graph.answer({
        status: 400,
        body: graphError(10, 2018278, 'This message is sent outside of allowed window.'),
      });
      const send = sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 });

      expect(await send({ accessToken: TOKEN, appSecret: SECRET, body })).toEqual({
        ok: false,
        failure: {
          httpStatus: 400,
          code: 10,
          subcode: 2018278,
          type: 'OAuthException',
          fbtraceId: 'trace',
          message: 'This message is sent outside of allowed window.',
        },
      });
    });

    it('redacts the token and the App Secret when Graph echoes them in its message', async () => {
      graph.answer({
        status: 400,
        body: graphError(
          190,
          undefined,
          `Malformed access token ${TOKEN}. Proof computed with ${SECRET}-xyz; app token 123456789|abcdefghijkl`,
        ),
      });
      const send = sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 });

      const outcome = await send({ accessToken: TOKEN, appSecret: `${SECRET}-xyz`, body });

      expect(outcome).toMatchObject({
        ok: false,
        failure: {
          code: 190,
          message:
            'Malformed access token [redacted]. Proof computed with [redacted]; app token 123456789|[redacted]',
        },
      });
    });

    it('reports an HTTP error with a non-JSON body by its status', async () => {
      graph.answer({ status: 502, body: '<html>Bad gateway</html>' });
      const send = sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 });

      expect(await send({ accessToken: TOKEN, appSecret: SECRET, body })).toEqual({
        ok: false,
        failure: { httpStatus: 502, message: 'HTTP 502' },
      });
    });

    it('gives up after the timeout and says so', async () => {
      graph.answer({ status: 200, body: {}, delayMs: 1500 });
      const send = sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 200 });

      expect(await send({ accessToken: TOKEN, appSecret: SECRET, body })).toEqual({
        ok: false,
        failure: { network: 'timeout', message: 'no answer within 200 ms' },
      });
    });

    it('reports a refused connection as a network error, without the URL or token', async () => {
      const send = sendApiClient({
        baseUrl: 'http://127.0.0.1:9',
        version: 'v25.0',
        timeoutMs: 2000,
      });

      const outcome = await send({ accessToken: TOKEN, appSecret: SECRET, body });

      expect(outcome).toMatchObject({ ok: false, failure: { network: 'error' } });
      expect(JSON.stringify(outcome)).not.toContain(TOKEN);
      expect(JSON.stringify(outcome)).not.toContain(appSecretProof(TOKEN, SECRET));
    });
  });
});
