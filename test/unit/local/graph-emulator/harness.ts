/**
 * What the Graph emulator's HTTP tests share: one emulator per test file on a clock the tests
 * move, reset before each test, and the ways to call it (our client, or fetch for what our
 * client never does).
 */
import { createHmac } from 'node:crypto';
import { GraphEmulator, type GraphError } from '../../../../infra/local/graph-emulator';
import { type SendApiBody, sendApiClient } from '../../../../shared/graph/send-api';
import { type AppSecrets, parseAppSecrets } from '../../../../shared/secrets';
import {
  APP_SECRET,
  HOUR_MS,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../../../helpers/factories';

export const VERSION = 'v25.0';
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
export const LOGIN = 'login-abc';
export const PSID = '1234567890123456';
export const DAY_MS = 24 * HOUR_MS;

/** Computed here, not with our client's helper, so the two sides are independent. */
export const proofOf = (token: string, secret = APP_SECRET) =>
  createHmac('sha256', secret).update(token).digest('hex');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Body = NonNullable<RequestInit['body']>;

export interface Answer {
  status: number;
  headers: Headers;
  body: {
    error?: GraphError;
    recipient_id?: string;
    message_id?: string;
    data?: unknown;
    ok?: boolean;
  } & Record<string, unknown>;
}

/**
 * Starts an emulator for the enclosing describe and resets it (and the clock, `t.clock`, to T0)
 * before each test. `t.emulator` is set once `beforeAll` ran.
 */
export function useEmulator() {
  const t = { clock: T0, emulator: undefined as unknown as GraphEmulator };
  const secrets: AppSecrets = parseAppSecrets(secretDocument(), 'test secrets');

  beforeAll(async () => {
    t.emulator = await GraphEmulator.start({ secrets: () => secrets, now: () => t.clock });
  });
  afterAll(() => t.emulator.close());
  beforeEach(() => {
    t.clock = T0;
    t.emulator.reset();
  });

  const client = (timeoutMs = 2000) =>
    sendApiClient({ baseUrl: t.emulator.url, version: VERSION, timeoutMs });
  const update = (loginId = LOGIN, text = 'Welcome to Messenger'): SendApiBody => ({
    recipient: { login_id: loginId },
    messaging_type: 'UPDATE',
    message: { text },
  });
  const send = (body: SendApiBody, token = PAGE_TOKEN, timeoutMs?: number) =>
    client(timeoutMs)({ accessToken: token, appSecret: APP_SECRET, body });
  const optin = (loginId = LOGIN, pageId = PAGE_ID, timestamp = t.clock - HOUR_MS) =>
    t.emulator.registerOptin({ loginId, pageId, timestamp });
  /** The person behind `psid` messaged the Page `ago` ms before the clock. */
  const userMessage = (ago: number, psid = PSID, pageId = PAGE_ID) =>
    t.emulator.registerUserMessage({ psid, pageId, timestamp: t.clock - ago });
  const toPsid = (psid = PSID, messagingType: SendApiBody['messaging_type'] = 'UPDATE') => ({
    recipient: { id: psid },
    messaging_type: messagingType,
    message: { text: 'Your order has shipped' },
    ...(messagingType === 'MESSAGE_TAG' ? { tag: 'POST_PURCHASE_UPDATE' } : {}),
  });

  /** A raw call with fetch, for what our client never does. */
  async function call(
    path: string,
    init: {
      method?: string;
      json?: unknown;
      body?: Body;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Answer> {
    const response = await fetch(`${t.emulator.url}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await response.text();
    let body: Answer['body'];
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      body = { text };
    }
    return { status: response.status, headers: response.headers, body };
  }

  /** A send with the token in the JSON body and a right proof in the query, unless overridden. */
  const post = (body: object, token = PAGE_TOKEN, node = 'me') =>
    call(`/${VERSION}/${node}/messages?appsecret_proof=${proofOf(token)}`, {
      json: { ...body, access_token: token },
    });

  return { t, secrets, client, update, send, optin, userMessage, toPsid, call, post };
}

/** Graph's answer for a recipient the Page cannot message: no opt-in, or a PSID it never saw. */
export const NO_MATCHING_USER = {
  message: '(#100) No matching user found',
  type: 'OAuthException',
  code: 100,
  error_subcode: 2018001,
} as const;

/** Graph's answer for a send outside the 24 h window (or a tag's). */
export const OUTSIDE_WINDOW = {
  code: 10,
  error_subcode: 2018278,
  message: '(#10) This message is sent outside of allowed window.',
  type: 'OAuthException',
} as const;

/** How our client sees Graph's 551: the person turned off messages. */
export const UNAVAILABLE_FAILURE = {
  httpStatus: 400,
  code: 551,
  message: "(#551) This person isn't available right now.",
} as const;
