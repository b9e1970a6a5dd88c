import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { httpApiEventOf } from '../../../shared/http';
import { MAX_WEBHOOK_BODY_BYTES } from '../../../shared/webhook/receive';
import { signatureFor } from '../../../shared/webhook/signature';
import {
  APP_SECRET,
  apiGatewayEvent,
  lambdaContext,
  optinItem,
  VERIFY_TOKEN,
  webhookBody,
} from '../../helpers/factories';
import { restApiEvent } from '../../helpers/rest-api-event';
import { useWebhookHandler } from '../../helpers/webhook-handler';

// The REST API built with `apiFirewall` sends payload 1.0 events; the handlers must read them as
// they read the HTTP API's.

const { sqsMock, handler, enqueued } = useWebhookHandler();

/** A delivery as the REST API hands it over: header names as Facebook sent them, body base64. */
function restPost(rawBody: Buffer, signature = signatureFor(rawBody, APP_SECRET)) {
  return restApiEvent({
    method: 'POST',
    resource: '/webhook',
    body: rawBody,
    headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature },
  });
}

describe('functions/webhook with REST API (payload 1.0) events', () => {
  it('answers the handshake from the query string', async () => {
    // Arrange
    const event = restApiEvent({
      method: 'GET',
      resource: '/webhook',
      query: {
        'hub.mode': ['subscribe'],
        'hub.verify_token': [VERIFY_TOKEN],
        'hub.challenge': ['424242'],
      },
    });

    // Act
    const response = await handler(event, lambdaContext());

    // Assert
    expect(response).toMatchObject({ statusCode: 200, body: '424242' });
  });

  it('takes a POST as a delivery, not as a handshake, and queues its opt-in', async () => {
    const raw = Buffer.from(
      JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'REST-1' })] }])),
    );

    const response = await handler(restPost(raw), lambdaContext());

    expect(response).toMatchObject({ statusCode: 200, body: 'EVENT_RECEIVED' });
    expect(enqueued().map((job) => [job.kind, job.loginId])).toEqual([['optin', 'REST-1']]);
  });

  it('checks the signature over the bytes as sent, invalid UTF-8 included', async () => {
    // A string holding 0xFF: any decode and re-encode on the way changes the bytes.
    const json = JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'REST-2' })] }]));
    const [head, tail] = json.split('"REST-2"');
    const raw = Buffer.concat([
      Buffer.from(`${head}"REST-2","note":"`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`"${tail}`),
    ]);
    const reencoded = Buffer.from(raw.toString('utf8'), 'utf8');
    expect(reencoded.equals(raw)).toBe(false);

    const accepted = await handler(restPost(raw), lambdaContext());
    const refused = await handler(
      restPost(raw, signatureFor(reencoded, APP_SECRET)),
      lambdaContext(),
    );

    expect(accepted.statusCode).toBe(200);
    expect(enqueued()[0]).toMatchObject({ loginId: 'REST-2' });
    expect(refused.statusCode).toBe(401);
  });

  it('answers 401 to an unsigned POST and queues nothing', async () => {
    const event = restApiEvent({
      method: 'POST',
      resource: '/webhook',
      body: JSON.stringify(webhookBody([{ messaging: [optinItem({ loginId: 'X' })] }])),
      headers: { 'Content-Type': 'application/json' },
    });

    expect((await handler(event, lambdaContext())).statusCode).toBe(401);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('refuses a body over 4 MiB with 413, though base64 makes the event a third larger', async () => {
    const raw = Buffer.alloc(MAX_WEBHOOK_BODY_BYTES + 1, 0x20);
    const event = restPost(raw);
    // Still within Lambda's 6 MiB invoke payload, so this answer is the one Facebook would get.
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(6 * 1024 * 1024);

    const response = await handler(event, lambdaContext());

    expect(response.statusCode).toBe(413);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('httpApiEventOf()', () => {
  it('returns an HTTP API event as it is', () => {
    const event = apiGatewayEvent({ method: 'POST', body: '{}' });

    expect(httpApiEventOf(event)).toBe(event);
  });

  it('builds the route key from the method and the resource template, and keeps the stage in rawPath', () => {
    const event = restApiEvent({
      method: 'GET',
      resource: '/messages/{id}',
      path: '/messages/m-1',
      pathParameters: { id: 'm-1' },
    });

    const converted = httpApiEventOf(event);

    expect(converted).toMatchObject({
      routeKey: 'GET /messages/{id}',
      rawPath: '/prod/messages/m-1',
      pathParameters: { id: 'm-1' },
      requestContext: {
        routeKey: 'GET /messages/{id}',
        stage: 'prod',
        http: { method: 'GET', path: '/prod/messages/m-1', sourceIp: '203.0.113.7' },
      },
    });
  });

  it('lower-cases header names and joins repeated values and query values with commas', () => {
    const event = {
      ...restApiEvent({
        method: 'GET',
        resource: '/webhook',
        query: { 'hub.mode': ['subscribe'], tag: ['a', 'b'] },
      }),
      multiValueHeaders: { 'X-Forwarded-For': ['198.51.100.1', '203.0.113.7'] },
    };

    const converted = httpApiEventOf(event);

    expect(converted.headers['x-forwarded-for']).toBe('198.51.100.1,203.0.113.7');
    expect(converted.headers.host).toBe('abc123.execute-api.eu-west-1.amazonaws.com');
    expect(converted.queryStringParameters).toEqual({ 'hub.mode': 'subscribe', tag: 'a,b' });
    expect(converted.rawQueryString).toBe('hub.mode=subscribe&tag=a&tag=b');
  });

  it('leaves out a null body and passes a base64 one unchanged', () => {
    const empty = httpApiEventOf(restApiEvent({ method: 'GET', resource: '/webhook' }));
    const withBody = httpApiEventOf(
      restApiEvent({ method: 'POST', resource: '/webhook', body: Buffer.from([0, 255]) }),
    );

    expect(empty).not.toHaveProperty('body');
    expect(empty.isBase64Encoded).toBe(false);
    expect(withBody).toMatchObject({ body: 'AP8=', isBase64Encoded: true });
  });
});
