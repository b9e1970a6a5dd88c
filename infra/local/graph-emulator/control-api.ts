/** The control API under `/_emulator/` (JSON in and out; not part of Graph): see README.md. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './body';
import type { FaultInput, FlakyInput } from './faults';
import { writeControlError, writeJson } from './http';
import type { EmulatorStore } from './store';
import {
  EmulatorInputError,
  type OptinInput,
  type OptoutInput,
  type PermissionsInput,
  type SubscriptionInput,
  type UsageInput,
  type UserMessageInput,
} from './types';

/** An answer: status and JSON body. */
type Answer = [status: number, body: unknown];
type Route = (
  store: EmulatorStore,
  body: unknown,
  query: URLSearchParams,
) => Answer | Promise<Answer>;

/** `METHOD /path` under `/_emulator` → what it does. */
const ROUTES: Record<string, Route> = {
  'GET /health': () => [200, { ok: true }],
  'POST /optins': (store, body) => [201, store.registerOptin(body as OptinInput)],
  'POST /optouts': (store, body) => [201, store.registerOptout(body as OptoutInput)],
  'POST /user-messages': (store, body) => [
    201,
    store.registerUserMessage(body as UserMessageInput),
  ],
  'POST /faults': (store, body) => [201, store.addFault(body as FaultInput)],
  'DELETE /faults': (store) => [200, { cleared: store.clearFaults() }],
  'POST /flaky': (store, body) => [201, store.setFlaky(body as FlakyInput)],
  'DELETE /flaky': (store) => [200, { cleared: store.clearFlaky() }],
  'POST /permissions': (store, body) => [201, store.setPermissions(body as PermissionsInput)],
  'POST /restrictions': (store, body) => [201, store.restrictPage(body as { pageId: string })],
  'DELETE /restrictions': (store, _, query) => [
    200,
    { cleared: store.clearRestrictions(query.get('pageId') ?? undefined) },
  ],
  'POST /revoked-tokens': async (store, body) => [
    201,
    await store.revokeToken(body as { pageId: string }),
  ],
  'DELETE /revoked-tokens': (store) => [200, { cleared: store.clearRevokedTokens() }],
  'POST /usage': (store, body) => [201, store.setUsage(body as UsageInput)],
  'DELETE /usage': (store) => [200, { cleared: store.clearUsage() }],
  'POST /subscriptions': (store, body) => [201, store.setSubscription(body as SubscriptionInput)],
  'POST /subscriptions/drop': (store, body) => [
    201,
    store.dropSubscription(body as { pageId: string }),
  ],
  'GET /messages': (store, _, query) => [
    200,
    store.messages({
      ...(query.has('loginId') ? { loginId: query.get('loginId') ?? '' } : {}),
      ...(query.has('psid') ? { psid: query.get('psid') ?? '' } : {}),
      ...(query.has('pageId') ? { pageId: query.get('pageId') ?? '' } : {}),
    }),
  ],
  'GET /requests': (store) => [200, store.requests()],
  'GET /state': (store) => [200, store.state()],
  'POST /reset': (store) => {
    store.reset();
    return [200, { ok: true }];
  },
};

/** The paths served, whatever the method. */
const KNOWN_PATHS = new Set(
  Object.keys(ROUTES).map((route) => route.slice(route.indexOf(' ') + 1)),
);

export async function handleControl(
  store: EmulatorStore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<void> {
  const method = req.method ?? 'GET';
  const sub = path.slice('/_emulator'.length);
  let body: unknown;
  try {
    const raw = (await readBody(req)).toString('utf8');
    body = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch (error) {
    return writeControlError(res, 400, `The body must be JSON: ${(error as Error).message}`);
  }
  const key = `${method} ${sub}`;
  const route = Object.hasOwn(ROUTES, key) ? ROUTES[key] : undefined;
  if (route) {
    try {
      const [status, answer] = await route(store, body, query);
      return writeJson(res, status, answer);
    } catch (error) {
      if (error instanceof EmulatorInputError) return writeControlError(res, 400, error.message);
      throw error;
    }
  }
  if (KNOWN_PATHS.has(sub))
    return writeControlError(res, 405, `${method} is not allowed on ${path}`);
  return writeControlError(res, 404, `No emulator endpoint ${path}`);
}
