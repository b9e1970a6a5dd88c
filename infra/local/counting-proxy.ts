import { createServer, request, type Server } from 'node:http';

/**
 * A pass-through HTTP proxy in front of an AWS emulator that counts requests by operation (the
 * `X-Amz-Target` header of the JSON protocols DynamoDB and SQS speak). It lets the benchmark say
 * how many DynamoDB and SQS calls an opt-in costs without touching the handlers.
 */
export class CountingProxy {
  private readonly counts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string, service: string): Promise<CountingProxy> {
    const upstream = new URL(target);
    let proxy: CountingProxy | undefined;
    const server = createServer((req, res) => {
      const op =
        String(req.headers['x-amz-target'] ?? 'unknown')
          .split('.')
          .pop() ?? 'unknown';
      proxy?.counts.set(`${service}.${op}`, (proxy.counts.get(`${service}.${op}`) ?? 0) + 1);
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new CountingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
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
}
