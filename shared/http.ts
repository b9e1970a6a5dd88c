import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';

/** A plain-text API Gateway response. Error bodies say what is wrong, never echo internals. */
export function text(statusCode: number, body: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** What the functions behind API Gateway receive: an HTTP API event, or a REST API one. */
export type ApiGatewayEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

/**
 * The event as an HTTP API (payload 2.0) event, the shape the handlers read. The HTTP API sends
 * that shape already; the REST API the stack builds with `apiFirewall` (README, Protecting the
 * API from floods) sends payload 1.0, which this converts the way the HTTP API would have built
 * it: `routeKey` from the method and resource template, header names lower-cased and repeated
 * values joined with commas. The body and `isBase64Encoded` pass unchanged, so the signature is
 * checked over the bytes as sent. `rawPath` is the path as called, stage included
 * (`/prod/facebook/data-deletion`), so links built from it lead back to this API.
 */
export function httpApiEventOf(event: ApiGatewayEvent): APIGatewayProxyEventV2 {
  if (!isRestApiEvent(event)) return event;
  const context = event.requestContext;
  const routeKey = `${event.httpMethod} ${event.resource}`;
  const rawPath = context?.path ?? event.path;
  const headers = joined(event.multiValueHeaders, event.headers, (name) => name.toLowerCase());
  const query = joined(event.multiValueQueryStringParameters, event.queryStringParameters);
  const rawQueryString = new URLSearchParams(
    Object.entries(event.multiValueQueryStringParameters ?? event.queryStringParameters ?? {})
      .flatMap(([name, values]) =>
        (Array.isArray(values) ? values : [values]).map((v) => [name, v]),
      )
      .filter((pair): pair is [string, string] => pair[1] !== undefined),
  ).toString();
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(event.pathParameters ? { pathParameters: definedValues(event.pathParameters) } : {}),
    ...(event.stageVariables ? { stageVariables: definedValues(event.stageVariables) } : {}),
    requestContext: {
      accountId: context?.accountId ?? '',
      apiId: context?.apiId ?? '',
      domainName: context?.domainName ?? '',
      domainPrefix: context?.domainPrefix ?? '',
      http: {
        method: event.httpMethod,
        path: rawPath,
        protocol: context?.protocol ?? 'HTTP/1.1',
        sourceIp: context?.identity?.sourceIp ?? '',
        userAgent: context?.identity?.userAgent ?? '',
      },
      requestId: context?.requestId ?? '',
      routeKey,
      stage: context?.stage ?? '',
      time: context?.requestTime ?? '',
      timeEpoch: context?.requestTimeEpoch ?? 0,
    },
    // Payload 1.0 says "no body" with null, 2.0 by leaving it out.
    ...(event.body !== null && event.body !== undefined ? { body: event.body } : {}),
    isBase64Encoded: event.isBase64Encoded ?? false,
  };
}

/** A REST API (payload 1.0) event: it names the method at the top, 2.0 in `requestContext.http`. */
function isRestApiEvent(event: ApiGatewayEvent): event is APIGatewayProxyEvent {
  return (
    typeof (event as APIGatewayProxyEvent).httpMethod === 'string' &&
    (event as APIGatewayProxyEventV2).requestContext?.http === undefined
  );
}

/** Name → value, repeated values joined with commas (as payload 2.0 does). */
function joined(
  multi: Record<string, (string | undefined)[] | undefined> | null | undefined,
  single: Record<string, string | undefined> | null | undefined,
  nameOf: (name: string) => string = (name) => name,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(single ?? {})) {
    if (value !== undefined) result[nameOf(name)] = value;
  }
  for (const [name, values] of Object.entries(multi ?? {})) {
    const present = (values ?? []).filter((value): value is string => value !== undefined);
    if (present.length > 0) result[nameOf(name)] = present.join(',');
  }
  return result;
}

function definedValues(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
