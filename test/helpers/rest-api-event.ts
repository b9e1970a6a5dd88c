import type { APIGatewayProxyEvent } from 'aws-lambda';

/**
 * An event as the REST API (`apiFirewall`) delivers it to a Lambda proxy integration: payload
 * 1.0, header names as the client sent them (also in `multiValueHeaders`), `null` for what is
 * absent, and, since the API treats every media type as binary, the body base64-encoded.
 */
export function restApiEvent(args: {
  method: 'GET' | 'POST';
  /** The resource template, e.g. `/messages/{id}`. */
  resource: string;
  /** The path as called, without the stage. */
  path?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  query?: Record<string, string[]>;
  pathParameters?: Record<string, string>;
  stage?: string;
}): APIGatewayProxyEvent {
  const path = args.path ?? args.resource;
  const stage = args.stage ?? 'prod';
  const headers = { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', ...args.headers };
  const query = args.query ?? null;
  return {
    resource: args.resource,
    path,
    httpMethod: args.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1]]))
      : null,
    multiValueQueryStringParameters: query,
    pathParameters: args.pathParameters ?? null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: null,
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      httpMethod: args.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'facebookexternalua',
        userArn: null,
      },
      path: `/${stage}${path}`,
      protocol: 'HTTP/1.1',
      requestId: `rest-${Math.random().toString(36).slice(2)}`,
      requestTime: '02/Dec/2026:01:00:00 +0000',
      requestTimeEpoch: Date.now(),
      resourceId: 'res123',
      resourcePath: args.resource,
      stage,
    },
    body:
      args.body === undefined
        ? null
        : (typeof args.body === 'string' ? Buffer.from(args.body, 'utf8') : args.body).toString(
            'base64',
          ),
    isBase64Encoded: args.body !== undefined,
  };
}
