import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { keys } from '../../shared/store/table-definition';
import { API_KEY, apiGatewayEvent, lambdaContext } from '../helpers/factories';
import { writeSecretsFile } from '../helpers/secrets-file';
import { freshTable } from '../helpers/tables';

let ctx: Awaited<ReturnType<typeof freshTable>>;
let api: (e: APIGatewayProxyEventV2, c: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let people: DynamoDbPersonStore;

function call(
  routeKey: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` },
) {
  const [method] = routeKey.split(' ');
  const event = {
    ...apiGatewayEvent({ method: method as 'POST', body: JSON.stringify(body), headers }),
    routeKey,
  };
  return api(event, lambdaContext('api'));
}

beforeAll(async () => {
  ctx = await freshTable();
  Object.assign(process.env, {
    TABLE_NAME: ctx.tableName,
    LCM_SECRETS_FILE: writeSecretsFile(),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Loaded after the environment is set: the handler reads its configuration at import, as in Lambda.
  ({ handler: api } = require('../../functions/api') as typeof import('../../functions/api'));
  people = new DynamoDbPersonStore(ctx.doc, ctx.tableName, {
    optinDays: 30,
    lockDays: 365,
    suppressionDays: 730,
    eventDays: 7,
  });
});
afterAll(() => ctx.raw.destroy());

describe('functions/api', () => {
  describe('authentication', () => {
    it.each([
      ['no key', {}],
      ['a wrong key', { authorization: `Bearer ${'x'.repeat(30)}` }],
    ])('answers 401 with WWW-Authenticate to %s', async (_name, headers) => {
      const response = await call('POST /optouts', { loginId: 'L' }, headers);

      expect(response.statusCode).toBe(401);
      expect(response.headers).toMatchObject({ 'www-authenticate': 'Bearer' });
      expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: 'unauthorized' });
    });

    it('answers 404 to a route it does not have', async () => {
      expect((await call('POST /nothing', {})).statusCode).toBe(404);
    });
  });

  describe('POST /optouts', () => {
    it('suppresses the person under every linked identifier', async () => {
      await people.link({ kind: 'asid', id: 'A-1' }, { kind: 'login', id: 'L-1' }, {}, Date.now());
      await people.link({ kind: 'login', id: 'L-1' }, { kind: 'psid', id: 'P-1' }, {}, Date.now());

      const response = await call('POST /optouts', { asid: 'A-1', reason: 'asked on the phone' });

      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body ?? '{}')).toMatchObject({
        status: 'suppressed',
        identifiers: expect.arrayContaining([{ kind: 'psid', id: 'P-1' }]),
      });
      const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
      const item = await ctx.doc.send(
        new GetCommand({
          TableName: ctx.tableName,
          Key: keys.suppression({ kind: 'psid', id: 'P-1' }),
        }),
      );
      expect(item.Item).toMatchObject({ source: 'api', reason: 'asked on the phone' });
    });

    it.each([
      ['no identifier', {}],
      ['two identifiers', { loginId: 'L', psid: 'P' }],
      ['an unknown field', { email: 'a@b.c' }],
    ])('answers 400 naming the problem for %s', async (_name, body) => {
      const response = await call('POST /optouts', body);

      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: 'invalid_request' });
    });
  });
});
