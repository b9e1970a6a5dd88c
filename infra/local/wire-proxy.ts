import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';

/**
 * A fault to inject on the wire, in front of an AWS emulator that speaks a JSON protocol
 * (DynamoDB, SQS). Each rule matches requests by operation (the `X-Amz-Target` suffix, e.g.
 * `TransactWriteItems`) and, optionally, by a substring of the request body (a `login_id`, an
 * attribute value), and applies to the next `times` matching requests.
 *
 * - `conflict`: answers `TransactionCanceledException` whose first reason is `TransactionConflict`
 *   (what real DynamoDB answers when two transactions touch one item at once; DynamoDB Local
 *   serialises them instead, so it never does). Nothing is written.
 * - `throttle`: answers `ProvisionedThroughputExceededException` (400). Nothing is written.
 * - `internal`: answers `InternalServerError` (500). Nothing is written.
 * - `lost_answer`: forwards the request (so it takes effect), then answers 500 instead of the
 *   emulator's answer: a write that happened although the caller was told it failed.
 * - `unprocessed`: for `BatchGetItem`, answers 200 with no items and every requested key in
 *   `UnprocessedKeys`, as DynamoDB does when it throttles a batch.
 * - `reset`: destroys the connection without an answer. Nothing is written.
 * - `hang`: never answers (until the caller gives up or dies). Nothing is written.
 */
export type FaultKind =
  | 'conflict'
  | 'throttle'
  | 'internal'
  | 'lost_answer'
  | 'unprocessed'
  | 'reset'
  | 'hang';

export interface FaultRule {
  operation: string;
  /** Only requests whose body contains this text (every one of these texts). */
  contains?: string | string[];
  fault: FaultKind;
  /** How many matching requests fail; @default 1 */
  times?: number;
}

interface ActiveRule extends FaultRule {
  remaining: number;
  hits: number;
}

/**
 * A pass-through HTTP proxy in front of an AWS emulator that counts requests by operation (the
 * `X-Amz-Target` header of the JSON protocols DynamoDB and SQS speak), and can fail chosen requests
 * (see `FaultRule`). It lets the benchmark say how many DynamoDB and SQS calls an opt-in costs, and
 * the fault tests break the wire between the real handlers and the real emulator, without touching
 * either. Rules are set in-process or, for a running local stack, over HTTP:
 * `POST /_faults` with `{ "rules": [FaultRule…] }` (replaces them), `GET /_faults` (rules with
 * their hits), `DELETE /_faults`.
 */
export class WireProxy {
  private readonly counts = new Map<string, number>();
  private rules: ActiveRule[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string, service: string): Promise<WireProxy> {
    const upstream = new URL(target);
    let proxy: WireProxy | undefined;
    const server = createServer((req, res) => {
      const self = proxy as WireProxy;
      if (req.url?.startsWith('/_faults')) {
        self.control(req, res);
        return;
      }
      const op =
        String(req.headers['x-amz-target'] ?? 'unknown')
          .split('.')
          .pop() ?? 'unknown';
      self.counts.set(`${service}.${op}`, (self.counts.get(`${service}.${op}`) ?? 0) + 1);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const rule = self.take(op, body);
        if (rule === undefined || rule.fault === 'lost_answer') {
          forward(upstream, req, body, (status, headers, answer) => {
            if (rule?.fault === 'lost_answer') {
              fail(res, 'internal', body);
              return;
            }
            res.writeHead(status, headers);
            res.end(answer);
          }).on('error', () => res.writeHead(502).end());
          return;
        }
        fail(res, rule.fault, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new WireProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** Replaces the fault rules. */
  setFaults(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ ...rule, remaining: rule.times ?? 1, hits: 0 }));
  }

  /** The rules with how often each has fired. */
  faults(): Array<FaultRule & { hits: number; remaining: number }> {
    return this.rules.map((rule) => ({ ...rule }));
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private take(operation: string, body: Buffer): ActiveRule | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        r.operation === operation &&
        [r.contains ?? []].flat().every((text) => body.includes(text)),
    );
    if (rule) {
      rule.remaining -= 1;
      rule.hits += 1;
    }
    return rule;
  }

  private control(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        if (req.method === 'POST') {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            rules?: FaultRule[];
          };
          this.setFaults(parsed.rules ?? []);
        } else if (req.method === 'DELETE') {
          this.setFaults([]);
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ rules: this.faults() }));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: (error as Error).message }));
      }
    });
  }
}

function forward(
  upstream: URL,
  req: IncomingMessage,
  body: Buffer,
  done: (status: number, headers: IncomingHttpHeaders, answer: Buffer) => void,
) {
  const outgoing = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => done(answer.statusCode ?? 502, answer.headers, Buffer.concat(chunks)));
    },
  );
  outgoing.end(body);
  return outgoing;
}

const AMZ_JSON = { 'content-type': 'application/x-amz-json-1.0' };

function fail(res: ServerResponse, fault: FaultKind, body: Buffer): void {
  if (fault === 'unprocessed') {
    unprocessed(res, body);
    return;
  }
  if (fault === 'hang') return;
  if (fault === 'reset') {
    res.socket?.destroy();
    return;
  }
  if (fault === 'conflict') {
    let items = 1;
    try {
      items = (JSON.parse(body.toString('utf8')) as { TransactItems?: unknown[] }).TransactItems
        ?.length as number;
    } catch {
      items = 1;
    }
    const reasons = Array.from({ length: Math.max(items, 1) }, (_, i) =>
      i === 0
        ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
        : { Code: 'None' },
    );
    res.writeHead(400, AMZ_JSON);
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        CancellationReasons: reasons,
        Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
      }),
    );
    return;
  }
  if (fault === 'throttle') {
    res.writeHead(400, AMZ_JSON);
    res.end(
      JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      }),
    );
    return;
  }
  res.writeHead(500, AMZ_JSON);
  res.end(
    JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error (injected)',
    }),
  );
}

/** A BatchGetItem answer that processed nothing: every requested key comes back unprocessed. */
function unprocessed(res: ServerResponse, body: Buffer): void {
  const { RequestItems = {} } = JSON.parse(body.toString('utf8')) as {
    RequestItems?: Record<string, unknown>;
  };
  res.writeHead(200, AMZ_JSON);
  res.end(
    JSON.stringify({
      Responses: Object.fromEntries(Object.keys(RequestItems).map((table) => [table, []])),
      UnprocessedKeys: RequestItems,
    }),
  );
}
