import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { SenderLog } from '../login-connect/process-record';
import type { SecretsSource } from '../secrets';
import type { PersonStore } from '../store/person-store';
import { formatIssues } from '../validation';
import { apiKeysOf, isAuthorized } from './auth';
import { OptoutRequestSchema, optOut } from './optouts';
import { json, jsonBody, refuse } from './respond';
import type { ApiRoute } from './routes';

export interface ApiDeps {
  secrets: SecretsSource;
  people: PersonStore;
  now: () => number;
  log: SenderLog;
}

type Handler = (
  event: APIGatewayProxyEventV2,
  deps: ApiDeps,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** The business's own API: every route needs a bearer key from the secret's `apiKeys`. */
const AUTHENTICATED: Record<ApiRoute, Handler> = {
  'POST /optouts': async (event, deps) => {
    const parsed = OptoutRequestSchema.safeParse(jsonBody(event.body, event.isBase64Encoded));
    if (!parsed.success)
      return refuse(
        400,
        'invalid_request',
        `The body must be JSON:\n${formatIssues('', parsed.error.issues)}`,
      );
    const ids = await optOut(parsed.data, deps.people, deps.now());
    deps.log.info('opt-out recorded (API)', { identifiers: ids.length });
    return json(200, { status: 'suppressed', identifiers: ids });
  },
};

/** Routes one API request: authentication first, then the route's own validation. */
export async function handleApiRequest(
  event: APIGatewayProxyEventV2,
  deps: ApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const route = event.routeKey;
  const authenticated = AUTHENTICATED[route as ApiRoute];
  if (authenticated === undefined) return refuse(404, 'not_found', `No route ${route}`);
  const secrets = await deps.secrets();
  if (!isAuthorized(event.headers, apiKeysOf(secrets.apiKeys))) {
    return json(
      401,
      {
        error: 'unauthorized',
        message: "Send Authorization: Bearer <one of the secret's apiKeys>",
      },
      { 'www-authenticate': 'Bearer' },
    );
  }
  return authenticated(event, deps);
}
