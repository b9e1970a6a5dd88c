import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { signRequest } from '../../shared/facebook/signed-request';
import {
  API_KEY,
  APP_SECRET,
  acceptAllBatches,
  lambdaContext,
  secretDocument,
  uniqueId,
} from '../helpers/factories';
import { restApiEvent } from '../helpers/rest-api-event';
import { writeSecretsFile } from '../helpers/secrets-file';
import { freshTable } from '../helpers/tables';

// The API function behind the REST API that `apiFirewall` builds: payload 1.0 events, header
// names as the client sent them, bodies base64-encoded, paths under the stage.

const sqsMock = mockClient(SQSClient);
let ctx: Awaited<ReturnType<typeof freshTable>>;
let api: typeof import('../../functions/api').handler;

beforeAll(async () => {
  ctx = await freshTable();
  Object.assign(process.env, {
    TABLE_NAME: ctx.tableName,
    QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
    LCM_SECRETS_FILE: writeSecretsFile(secretDocument()),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  ({ handler: api } = require('../../functions/api') as typeof import('../../functions/api'));
});
afterAll(() => ctx.raw.destroy());
beforeEach(() => {
  sqsMock.reset();
  acceptAllBatches(sqsMock);
});

const bodyOf = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(response.body ?? '{}');

describe('functions/api with REST API (payload 1.0) events', () => {
  it('answers 401, not 404, to a bearer-key route called without the key', async () => {
    const event = restApiEvent({
      method: 'POST',
      resource: '/logins',
      body: JSON.stringify({ pageId: '1', loginId: 'x' }),
      headers: { 'Content-Type': 'application/json' },
    });

    const response = await api(event, lambdaContext('api'));

    expect(response.statusCode).toBe(401);
    expect(bodyOf(response).error).toBe('unauthorized');
  });

  it('reads the Authorization header whatever its case, and the path parameter', async () => {
    const event = restApiEvent({
      method: 'GET',
      resource: '/messages/{id}',
      path: '/messages/m-404',
      pathParameters: { id: 'm-404' },
      headers: { Authorization: `Bearer ${API_KEY}` },
    });

    const response = await api(event, lambdaContext('api'));

    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toMatchObject({ error: 'not_found', message: 'No message m-404' });
  });

  it('answers a data deletion with a status URL under the stage, which then answers', async () => {
    // Arrange
    const form = `signed_request=${encodeURIComponent(
      signRequest(
        {
          algorithm: 'HMAC-SHA256',
          issued_at: Math.floor(Date.now() / 1000),
          user_id: uniqueId('7'),
        },
        APP_SECRET,
      ),
    )}`;
    const deletion = restApiEvent({
      method: 'POST',
      resource: '/facebook/data-deletion',
      body: form,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });

    // Act
    const response = await api(deletion, lambdaContext('api'));
    const { url, confirmation_code: code } = bodyOf(response);
    const status = await api(
      restApiEvent({
        method: 'GET',
        resource: '/facebook/data-deletion/{code}',
        path: `/facebook/data-deletion/${code}`,
        pathParameters: { code },
      }),
      lambdaContext('api'),
    );

    // Assert
    expect(response.statusCode).toBe(200);
    expect(url).toBe(
      `https://abc123.execute-api.eu-west-1.amazonaws.com/prod/facebook/data-deletion/${code}`,
    );
    expect(status.statusCode).toBe(200);
    expect(bodyOf(status)).toMatchObject({ confirmation_code: code });
  });
});
