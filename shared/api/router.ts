import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { PermissionsLookup } from '../graph/ports';
import type { FollowupOptions } from '../login-connect/followup-policy';
import type { QueueJob } from '../messages';
import type { Log } from '../observability';
import type { SecretsSource } from '../secrets';
import type { MessageStore } from '../store/message-store';
import type { PersonStore } from '../store/person-store';
import { formatIssues } from '../validation';
import { headerValue } from '../webhook/signature';
import { apiKeysOf, isAuthorized } from './auth';
import { deleteUserData, deletionStatus, derivedLoginIds, signedRequestOf } from './data-deletion';
import { acceptLogin, LoginRequestSchema } from './logins';
import { acceptFollowup, FollowupRequestSchema, messageView } from './messages';
import { OptoutRequestSchema, optOut } from './optouts';
import { json, jsonBody, refuse } from './respond';
import type { ApiRoute, PublicRoute } from './routes';

export interface ApiDeps {
  followupOptions: FollowupOptions;
  secrets: SecretsSource;
  people: PersonStore;
  messages: MessageStore;
  permissions: PermissionsLookup;
  enqueue(jobs: QueueJob[], options?: { delaySeconds?: number }): Promise<unknown>;
  /** How long a sender attempt may still write after it claimed: its lease and hand-over grace. */
  inFlightSeconds: number;
  now: () => number;
  log: Log;
}

type Handler = (
  event: APIGatewayProxyEventV2,
  deps: ApiDeps,
) => Promise<APIGatewayProxyStructuredResultV2>;

function invalid(issues: Parameters<typeof formatIssues>[1]): APIGatewayProxyStructuredResultV2 {
  return refuse(
    400,
    'invalid_request',
    `The request body is not as expected:\n${formatIssues('', issues)}`,
  );
}

function rawBody(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

const DATA_DELETION_PATH = '/facebook/data-deletion';

/**
 * The URL a person can open to see a deletion's status, on this same API. The part of the path
 * before the route is kept: the REST API (`apiFirewall`) serves under its stage, `/prod`.
 */
function statusUrl(event: APIGatewayProxyEventV2, code: string): string {
  const host = headerValue(event.headers, 'host') ?? event.requestContext.domainName;
  const local = /^(localhost|127\.)/.test(host);
  const proto = headerValue(event.headers, 'x-forwarded-proto') ?? (local ? 'http' : 'https');
  const rawPath = event.rawPath ?? '';
  const base = rawPath.endsWith(DATA_DELETION_PATH)
    ? rawPath.slice(0, -DATA_DELETION_PATH.length)
    : '';
  return `${proto}://${host}${base}${DATA_DELETION_PATH}/${code}`;
}

const AUTHENTICATED: Record<ApiRoute, Handler> = {
  'POST /logins': async (event, deps) => {
    const parsed = LoginRequestSchema.safeParse(jsonBody(event.body, event.isBase64Encoded));
    if (!parsed.success) return invalid(parsed.error.issues);
    const result = await acceptLogin(
      parsed.data,
      { secrets: await deps.secrets(), permissions: deps.permissions, people: deps.people },
      deps.now(),
    );
    if (!result.accepted) return refuse(result.status, result.rule, result.message);
    await deps.enqueue([result.job]);
    deps.log.info('login event queued', { pageId: parsed.data.pageId });
    return json(202, { loginId: result.loginId, status: 'queued' });
  },
  'POST /optouts': async (event, deps) => {
    const parsed = OptoutRequestSchema.safeParse(jsonBody(event.body, event.isBase64Encoded));
    if (!parsed.success) return invalid(parsed.error.issues);
    const derived = parsed.data.asid ? derivedLoginIds(parsed.data.asid, await deps.secrets()) : [];
    const ids = await optOut(parsed.data, deps.people, deps.now(), derived);
    deps.log.info('opt-out recorded (API)', { identifiers: ids.length });
    return json(200, { status: 'suppressed', identifiers: ids });
  },
  'POST /messages': async (event, deps) => {
    const parsed = FollowupRequestSchema.safeParse(jsonBody(event.body, event.isBase64Encoded));
    if (!parsed.success) return invalid(parsed.error.issues);
    const result = await acceptFollowup(parsed.data, deps, deps.now());
    if (!result.accepted) return refuse(result.status, result.rule, result.message);
    await deps.enqueue([{ v: 1, kind: 'followup', id: result.id }]);
    return json(202, { id: result.id, status: 'queued' });
  },
  'GET /messages/{id}': async (event, deps) => {
    const id = event.pathParameters?.id ?? '';
    const message = await deps.messages.get(id);
    return message ? json(200, messageView(message)) : refuse(404, 'not_found', `No message ${id}`);
  },
};

const PUBLIC: Record<PublicRoute, Handler> = {
  'POST /facebook/data-deletion': async (event, deps) => {
    const signedRequest = signedRequestOf(
      rawBody(event),
      headerValue(event.headers, 'content-type'),
    );
    if (!signedRequest)
      return refuse(400, 'invalid_request', 'Expected a form field signed_request.');
    const result = await deleteUserData(
      signedRequest,
      {
        secrets: await deps.secrets(),
        people: deps.people,
        enqueueLater: (job, delaySeconds) => deps.enqueue([job], { delaySeconds }),
        inFlightSeconds: deps.inFlightSeconds,
      },
      deps.now(),
    );
    if (!result.ok) {
      deps.log.warn('data deletion refused', { reason: result.reason });
      return refuse(400, 'invalid_signed_request', result.reason);
    }
    deps.log.info('data deleted', { status: result.status, deleted: result.deleted });
    return json(200, { url: statusUrl(event, result.code), confirmation_code: result.code });
  },
  'GET /facebook/data-deletion/{code}': async (event, deps) => {
    const status = await deletionStatus(event.pathParameters?.code ?? '', deps);
    return status
      ? json(200, status)
      : refuse(404, 'not_found', 'No deletion with this confirmation code.');
  },
};

/** Routes one API request: authentication first (for the business's routes), then validation. */
export async function handleApiRequest(
  event: APIGatewayProxyEventV2,
  deps: ApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const route = event.routeKey;
  const open = PUBLIC[route as PublicRoute];
  if (open) return open(event, deps);
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
