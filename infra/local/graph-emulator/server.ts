/**
 * The Graph emulator's HTTP server: a loopback stand-in for Facebook's Send API. What it serves
 * and which rules it applies are described in README.md beside this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fieldsFrom } from './body';
import { handleControl } from './control-api';
import { writeGraphError } from './http';
import type { GraphCall } from './page-call';
import { handlePermissions, handleSubscribedApps } from './page-routes';
import { refusal } from './refusals';
import { handleSend } from './send-route';
import { EmulatorStore } from './store';
import { EmulatorInputError, type GraphEmulatorOptions } from './types';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/**
 * The emulator. `start()` listens; the methods (from `EmulatorStore`) mirror the control API for
 * in-process use.
 */
export class GraphEmulator extends EmulatorStore {
  private readonly server: Server;
  private closed = false;

  private constructor(options: GraphEmulatorOptions) {
    super(options);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (res.headersSent) res.destroy();
        else writeGraphError(res, refusal(1, `Graph emulator error: ${message}`, { status: 500 }));
      });
    });
  }

  /** Starts listening; rejects if the host is not loopback or the port is taken. */
  static async start(options: GraphEmulatorOptions): Promise<GraphEmulator> {
    const host = options.host ?? '127.0.0.1';
    if (!LOOPBACK.test(host)) {
      throw new EmulatorInputError(`The Graph emulator only listens on loopback, not on ${host}`);
    }
    const emulator = new GraphEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(options.port ?? 0, host, () => {
        emulator.server.off('error', reject);
        resolve();
      });
    });
    return emulator;
  }

  /** e.g. `http://127.0.0.1:3001`, without a trailing slash. */
  get url(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('The emulator is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops listening and drops open connections; pending delayed requests are discarded. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      await handleControl(this, req, res, path, url.searchParams);
      return;
    }
    const route = /^\/(v\d+\.\d+)\/([^/]+)\/(messages|permissions|subscribed_apps)$/.exec(path);
    if (!route) {
      req.resume();
      // Graph answers unknown paths with a 400 or 404 and code 100/803/2500 depending on which
      // part is unknown; one answer is enough here, and it lists what is served.
      writeGraphError(
        res,
        refusal(
          100,
          `(#100) Unknown path components: ${path} (the emulator serves POST /{version}/me/messages, POST /{version}/{page-id}/messages, GET /{version}/{user-id}/permissions and GET/POST /{version}/{page-id}/subscribed_apps)`,
          { status: 404 },
        ),
      );
      return;
    }
    const call: GraphCall = {
      req,
      res,
      path,
      node: route[2] ?? '',
      query: fieldsFrom(url.searchParams.entries()),
    };
    if (route[3] === 'permissions') {
      req.resume();
      await handlePermissions(this, call);
      return;
    }
    if (route[3] === 'subscribed_apps') {
      await handleSubscribedApps(this, call);
      return;
    }
    await handleSend(this, call);
  }
}
