import { createServer, type Server } from 'node:http';

export interface ReceivedCall {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export interface StubAnswer {
  status: number;
  body: unknown;
  delayMs?: number;
  /** Extra response headers (Graph's usage headers, for one). */
  headers?: Record<string, string>;
  /** Only for a call to this `recipient.login_id`; otherwise for whichever call comes next. */
  forLoginId?: string;
}

/**
 * A minimal Send API stand-in on loopback for tests of our HTTP client and handlers: it records
 * every call and answers from a script (FIFO), then with success. The faithful emulator of the
 * local stack is a separate, fuller program.
 */
export class GraphStub {
  readonly calls: ReceivedCall[] = [];
  private readonly script: StubAnswer[] = [];
  private server?: Server;
  private counter = 0;

  get url(): string {
    const address = this.server?.address();
    if (!address || typeof address === 'string') throw new Error('stub not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Answers the next calls with these, in order. */
  answer(...answers: StubAnswer[]): void {
    this.script.push(...answers);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = {};
        }
        this.calls.push({
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body,
        });
        this.counter += 1;
        const recipient = body.recipient as { login_id?: string } | undefined;
        const index = this.script.findIndex(
          (a) => a.forLoginId === undefined || a.forLoginId === recipient?.login_id,
        );
        const next = (index >= 0 ? this.script.splice(index, 1)[0] : undefined) ?? {
          status: 200,
          body: { recipient_id: `psid-${this.counter}`, message_id: `m_${this.counter}` },
        };
        const reply = () => {
          res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
          res.end(typeof next.body === 'string' ? next.body : JSON.stringify(next.body));
        };
        if (next.delayMs) setTimeout(reply, next.delayMs);
        else reply();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}

/** A Graph error body as Facebook shapes it. */
export function graphError(code: number, subcode?: number, message = 'error') {
  return {
    error: {
      message,
      type: 'OAuthException',
      code,
      ...(subcode ? { error_subcode: subcode } : {}),
      fbtrace_id: 'trace',
    },
  };
}
