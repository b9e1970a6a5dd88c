import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Routes as the CDK stack declares them: `METHOD /path` → handler. */
export type Routes = Record<string, HttpApiHandler>;

/** API Gateway (HTTP API) refuses larger request bodies with 413 before any Lambda runs. */
export const MAX_API_GATEWAY_BODY_BYTES = 10 * 1024 * 1024;

/** Content types API Gateway passes as text; anything else arrives base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript))/i;

/**
 * Turns an HTTP request into the event API Gateway (HTTP API, payload 2.0) gives a Lambda: raw
 * body (base64 when not text), lower-cased headers, query string, request context.
 */
export function toHttpApiEvent(
  req: IncomingMessage,
  body: Buffer,
  routeKey: string,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined)
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

/** Finds the route for a request, API Gateway style: `GET /messages/{id}` matches `/messages/abc`. */
export function matchRoute(
  routes: Routes,
  method: string,
  path: string,
):
  | { routeKey: string; handler: HttpApiHandler; pathParameters: Record<string, string> }
  | undefined {
  for (const [routeKey, handler] of Object.entries(routes)) {
    const [routeMethod, template = ''] = routeKey.split(' ');
    if (routeMethod !== method) continue;
    const names: string[] = [];
    const pattern = template.replace(/\{([^}]+)\}/g, (_all, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (found) {
      const pathParameters = Object.fromEntries(
        names.map((name, i) => [name, decodeURIComponent(found[i + 1] ?? '')]),
      );
      return { routeKey, handler, pathParameters };
    }
  }
  return undefined;
}

/**
 * A local stand-in for the stack's HTTP API: the same routes, the same event shape, the real
 * handler. Unknown routes get API Gateway's 404; a body over 10 MB its 413; a handler that throws
 * gets its 500.
 */
export async function startApiServer(options: {
  port: number;
  host?: string;
  routes: Routes;
}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past API Gateway's limit the rest is read and dropped, never held.
      if (size <= MAX_API_GATEWAY_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', async () => {
      if (size > MAX_API_GATEWAY_BODY_BYTES) {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end('{"message":"Request Entity Too Large"}');
        return;
      }
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const match = matchRoute(options.routes, req.method ?? 'GET', path);
      if (match === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      try {
        const event = toHttpApiEvent(req, Buffer.concat(chunks), match.routeKey);
        if (Object.keys(match.pathParameters).length > 0)
          event.pathParameters = match.pathParameters;
        const result = await match.handler(event, lambdaContext('api', 10_000));
        const body =
          result.body === undefined
            ? ''
            : result.isBase64Encoded
              ? Buffer.from(result.body, 'base64')
              : result.body;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(result.headers ?? {}))
          headers[name] = String(value);
        res.writeHead(result.statusCode ?? 200, headers).end(body);
      } catch {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"message":"Internal Server Error"}');
      }
    });
  });
  // Idle keep-alive connections outlive the clients' own idle timeouts (undici's is 4 s), as API
  // Gateway's do: with Node's default 5 s, a busy client could reuse a socket just as the server
  // closed it, and read that as the webhook failing (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
