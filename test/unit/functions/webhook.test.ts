import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  apiGatewayEvent,
  lambdaContext,
  optinItem,
  signedPost,
  VERIFY_TOKEN,
  webhookBody,
} from '../../helpers/factories';
import { useWebhookHandler, WEBHOOK_QUEUE_URL } from '../../helpers/webhook-handler';

const { sqsMock, handler, enqueued } = useWebhookHandler();

describe('functions/webhook', () => {
  describe('GET /webhook', () => {
    it('answers the handshake with the challenge as plain text', async () => {
      const event = apiGatewayEvent({
        method: 'GET',
        query: {
          'hub.mode': 'subscribe',
          'hub.verify_token': VERIFY_TOKEN,
          'hub.challenge': '987654',
        },
      });

      const response = await handler(event, lambdaContext());

      expect(response).toMatchObject({
        statusCode: 200,
        body: '987654',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    });

    it('answers 403 to a wrong verify token', async () => {
      const event = apiGatewayEvent({
        method: 'GET',
        query: { 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' },
      });

      expect((await handler(event, lambdaContext())).statusCode).toBe(403);
    });
  });

  describe('POST /webhook', () => {
    it('queues every opt-in of a signed batch and answers 200', async () => {
      const body = JSON.stringify(
        webhookBody([{ messaging: [optinItem({ loginId: 'A' }), optinItem({ loginId: 'B' })] }]),
      );

      const response = await handler(signedPost(body), lambdaContext());

      expect(response).toMatchObject({ statusCode: 200, body: 'EVENT_RECEIVED' });
      expect(enqueued().map((job) => [job.kind, job.loginId])).toEqual([
        ['optin', 'A'],
        ['optin', 'B'],
      ]);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(
        WEBHOOK_QUEUE_URL,
      );
    });

    it('sends 25 events in batches of at most 10', async () => {
      const messaging = Array.from({ length: 25 }, (_, i) => optinItem({ loginId: `L${i}` }));

      await handler(signedPost(JSON.stringify(webhookBody([{ messaging }]))), lambdaContext());

      const sizes = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .map((c) => c.args[0].input.Entries?.length);
      expect(sizes.sort()).toEqual([10, 10, 5]);
      expect(new Set(enqueued().map((j) => j.loginId)).size).toBe(25);
    });

    it('accepts a base64-encoded body signed over its original bytes', async () => {
      const raw = JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'B64' })] }]));
      const signed = signedPost(raw);
      const event = { ...signed, body: Buffer.from(raw).toString('base64'), isBase64Encoded: true };

      expect((await handler(event, lambdaContext())).statusCode).toBe(200);
      expect(enqueued()[0]).toMatchObject({ loginId: 'B64' });
    });

    it.each([
      [
        'a missing signature',
        (e: APIGatewayProxyEventV2) => ({ ...e, headers: { 'content-type': 'application/json' } }),
      ],
      [
        'a wrong signature',
        (e: APIGatewayProxyEventV2) => ({
          ...e,
          headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
        }),
      ],
      [
        'a body changed after signing',
        (e: APIGatewayProxyEventV2) => ({ ...e, body: e.body?.replace('"A"', '"Z"') }),
      ],
    ])('answers 401 to %s and queues nothing', async (_name, tamper) => {
      const event = tamper(
        signedPost(JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'A' })] }]))),
      );

      expect((await handler(event, lambdaContext())).statusCode).toBe(401);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    });

    it('answers 400 to a signed body that is not JSON', async () => {
      const response = await handler(signedPost('{"entry": [oops'), lambdaContext());

      expect(response).toMatchObject({ statusCode: 400, body: 'body is not JSON' });
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    });

    it('answers 400 to a signed body that is JSON but not an object, 10,000 deep', async () => {
      const raw = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

      const response = await handler(signedPost(raw), lambdaContext());

      expect(response).toMatchObject({ statusCode: 400, body: 'body is not a JSON object' });
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    });

    it.each([
      ['the whole body', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
      [
        'messaging',
        `{"object":"page","entry":[{"id":"1","messaging":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`,
      ],
      [
        'login_id',
        `{"object":"page","entry":[{"id":"1","messaging":[{"recipient":{"id":"1"},"timestamp":1,"optin":{"login_id":${'['.repeat(10_000)}${']'.repeat(10_000)}}}]}]}`,
      ],
    ])('answers 200 to a body nested 10,000 deep as %s, and queues it bounded', async (_n, raw) => {
      const response = await handler(signedPost(raw), lambdaContext());

      expect(response.statusCode).toBe(200);
      const [job] = enqueued();
      expect(job.kind === 'rejected_optin' ? job.item : job.payload).toMatchObject({
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('refuses a body over 4 MiB with 413 before reading it, and queues nothing', async () => {
      const raw = JSON.stringify({ object: 'page', entry: [], pad: 'x'.repeat(4 * 1024 * 1024) });

      const response = await handler(signedPost(raw), lambdaContext());

      expect(response.statusCode).toBe(413);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    });

    it('reads a body that starts with a UTF-8 byte order mark', async () => {
      const raw = `\uFEFF${JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'BOM' })] }]))}`;

      expect((await handler(signedPost(raw), lambdaContext())).statusCode).toBe(200);
      expect(enqueued()).toMatchObject([{ kind: 'optin', loginId: 'BOM' }]);
    });

    it('answers 200 to an opt-in that breaks the contract and queues it as rejected, not to send', async () => {
      const body = JSON.stringify(
        webhookBody([{ messaging: [{ ...optinItem({ loginId: 'L' }), timestamp: 0 }] }]),
      );

      const response = await handler(signedPost(body), lambdaContext());

      expect(response.statusCode).toBe(200);
      expect(enqueued()).toMatchObject([
        {
          kind: 'rejected_optin',
          loginId: 'L',
          reason: 'timestamp: is older than the 24 h window (or is not in milliseconds)',
        },
      ]);
    });

    it('answers 200 to events it does not handle yet, and queues them', async () => {
      const body = JSON.stringify({
        object: 'page',
        entry: [
          {
            id: '1',
            time: 1,
            messaging: [{ sender: { id: 'P' }, recipient: { id: '1' }, brand_new_event: {} }],
          },
        ],
      });

      expect((await handler(signedPost(body), lambdaContext())).statusCode).toBe(200);
      expect(enqueued()).toMatchObject([{ kind: 'event', eventType: 'unknown' }]);
    });

    it('retries entries SQS did not take, then answers 200', async () => {
      sqsMock
        .on(SendMessageBatchCommand)
        .resolvesOnce({
          Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: '' }],
          Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }],
        })
        .resolves({ Successful: [{ Id: '1', MessageId: 'b', MD5OfMessageBody: '' }], Failed: [] });
      const body = JSON.stringify(
        webhookBody([{ messaging: [optinItem({ loginId: 'A' }), optinItem({ loginId: 'B' })] }]),
      );

      const response = await handler(signedPost(body), lambdaContext());

      const calls = sqsMock.commandCalls(SendMessageBatchCommand);
      expect(response.statusCode).toBe(200);
      expect(calls).toHaveLength(2);
      expect(JSON.parse(calls[1]?.args[0].input.Entries?.[0]?.MessageBody ?? '{}')).toMatchObject({
        loginId: 'B',
      });
    });

    it('answers 500 so Facebook redelivers when the events cannot be queued', async () => {
      sqsMock.on(SendMessageBatchCommand).rejects(new Error('SQS unavailable'));
      const body = JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'A' })] }]));

      expect((await handler(signedPost(body), lambdaContext())).statusCode).toBe(500);
    });

    it('answers 500 when SQS keeps refusing an entry', async () => {
      sqsMock.on(SendMessageBatchCommand).resolves({
        Successful: [],
        Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
      });
      const body = JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'A' })] }]));

      expect((await handler(signedPost(body), lambdaContext())).statusCode).toBe(500);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(4);
    });
  });

  it('answers 405 to other methods', async () => {
    expect((await handler(apiGatewayEvent({ method: 'PUT' }), lambdaContext())).statusCode).toBe(
      405,
    );
  });
});
