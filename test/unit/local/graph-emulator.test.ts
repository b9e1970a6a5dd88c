import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type FaultKind,
  GraphEmulator,
  type GraphError,
} from '../../../infra/local/graph-emulator';
import { type SendApiBody, sendApiClient } from '../../../shared/graph/send-api';
import { REQUIRED_PAGE_FIELDS, subscribedAppsClient } from '../../../shared/graph/subscribed-apps';
import { regainAccessMs } from '../../../shared/graph/usage';
import {
  classifySendFailure,
  type FailureKind,
  pageProblem,
} from '../../../shared/login-connect/send-errors';
import { type AppSecrets, parseAppSecrets } from '../../../shared/secrets';
import {
  APP_SECRET,
  HOUR_MS,
  OTHER_PAGE_ID,
  OTHER_PAGE_TOKEN,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../../helpers/factories';
import { writeSecretsFile } from '../../helpers/secrets-file';

const VERSION = 'v25.0';
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const LOGIN = 'login-abc';
const PSID = '1234567890123456';
const DAY_MS = 24 * HOUR_MS;

/** Computed here, not with our client's helper, so the two sides are independent. */
const proofOf = (token: string, secret = APP_SECRET) =>
  createHmac('sha256', secret).update(token).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Body = NonNullable<RequestInit['body']>;

interface Answer {
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

describe('infra/local/graph-emulator', () => {
  let clock = T0;
  let emulator: GraphEmulator;
  const secrets: AppSecrets = parseAppSecrets(secretDocument(), 'test secrets');

  beforeAll(async () => {
    emulator = await GraphEmulator.start({ secrets: () => secrets, now: () => clock });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    clock = T0;
    emulator.reset();
  });

  const client = (timeoutMs = 2000) =>
    sendApiClient({ baseUrl: emulator.url, version: VERSION, timeoutMs });
  const update = (loginId = LOGIN, text = 'Welcome to Messenger'): SendApiBody => ({
    recipient: { login_id: loginId },
    messaging_type: 'UPDATE',
    message: { text },
  });
  const send = (body: SendApiBody, token = PAGE_TOKEN, timeoutMs?: number) =>
    client(timeoutMs)({ accessToken: token, appSecret: APP_SECRET, body });
  const optin = (loginId = LOGIN, pageId = PAGE_ID, timestamp = clock - HOUR_MS) =>
    emulator.registerOptin({ loginId, pageId, timestamp });
  /** The person behind `psid` messaged the Page `ago` ms before the clock. */
  const userMessage = (ago: number, psid = PSID, pageId = PAGE_ID) =>
    emulator.registerUserMessage({ psid, pageId, timestamp: clock - ago });
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
    const response = await fetch(`${emulator.url}${path}`, {
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

  describe('POST /{version}/me/messages to a login_id', () => {
    it('accepts a first message from sendApiClient and locks the login_id to its Page', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome).toEqual({
        ok: true,
        httpStatus: 200,
        messageId: expect.stringMatching(/^m_[\w-]+$/),
        recipientId: expect.stringMatching(/^[1-9]\d{15}$/),
        usage: expect.objectContaining({ business: { [PAGE_ID]: [expect.any(Object)] } }),
      });
      if (!outcome.ok) throw new Error('unreachable');
      expect(emulator.messages()).toEqual([
        {
          messageId: outcome.messageId,
          pageId: PAGE_ID,
          recipient: { login_id: LOGIN },
          messagingType: 'UPDATE',
          message: { text: 'Welcome to Messenger' },
          at: new Date(T0).toISOString(),
          recipientId: outcome.recipientId,
        },
      ]);
      expect(emulator.state().locks).toEqual([{ loginId: LOGIN, pageId: PAGE_ID, lockedAt: T0 }]);
    });

    it('returns the same recipient_id for a login_id and Page on every send', async () => {
      // Arrange
      optin();
      optin('login-other');

      // Act
      const first = await post(update());
      const second = await post(update());
      const other = await post(update('login-other'));

      // Assert
      expect(first.body.recipient_id).toBe(second.body.recipient_id);
      expect(first.body.message_id).not.toBe(second.body.message_id);
      expect(other.body.recipient_id).not.toBe(first.body.recipient_id);
    });

    it('refuses another Page once the login_id has been messaged', async () => {
      // Arrange
      optin();
      await send(update());

      // Act
      const refused = await post(update(), OTHER_PAGE_TOKEN);
      const again = await post(update());

      // Assert
      expect(refused.status).toBe(400);
      expect(refused.body.error).toEqual({
        message:
          '(#100) This login_id can only be messaged by the Page it was first messaged through',
        type: 'OAuthException',
        code: 100,
        fbtrace_id: expect.any(String),
      });
      expect(again.status).toBe(200);
      expect(emulator.messages().map((m) => m.pageId)).toEqual([PAGE_ID, PAGE_ID]);
    });

    it('refuses a Page other than the opt-in Page before any message', async () => {
      // Arrange
      optin(LOGIN, OTHER_PAGE_ID);

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: { httpStatus: 400, code: 100, message: expect.stringContaining('first messaged') },
      });
      expect(emulator.state().locks).toEqual([]);
    });

    it('refuses an unknown login_id with 100/2018001', async () => {
      // Act
      const answer = await post(update('never-opted-in'));

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        message: '(#100) No matching user found',
        type: 'OAuthException',
        code: 100,
        error_subcode: 2018001,
        fbtrace_id: expect.any(String),
      });
      expect(answer.headers.get('x-fb-trace-id')).toBe(answer.body.error?.fbtrace_id);
    });

    it.each([
      ['1 ms after the opt-in', 1, 200],
      ['1 ms before 24 h', DAY_MS - 1, 200],
      ['exactly 24 h', DAY_MS, 200],
      ['1 ms after 24 h', DAY_MS + 1, 400],
      ['3 days', 3 * DAY_MS, 400],
    ])('answers a first message sent %s after the opt-in with HTTP %s', async (_, age, status) => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      clock = T0 + age;

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.status).toBe(status);
      if (status === 400) {
        expect(answer.body.error).toMatchObject({
          code: 10,
          error_subcode: 2018278,
          message: '(#10) This message is sent outside of allowed window.',
          type: 'OAuthException',
        });
      }
    });

    it('classifies a first message outside the window as window_closed through sendApiClient', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0 - DAY_MS - 1);

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(classifySendFailure(outcome.failure)).toBe('window_closed');
      expect(emulator.messages()).toEqual([]);
    });

    it('refuses a Message Tag on the first message and accepts one after the window', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      const tagged = { ...update(), messaging_type: 'MESSAGE_TAG', tag: 'ACCOUNT_UPDATE' };

      // Act
      const firstTagged = await post(tagged);
      const first = await post(update());
      clock = T0 + DAY_MS + HOUR_MS;
      const lateUpdate = await post(update());
      const lateTagged = await post(tagged);

      // Assert
      expect(firstTagged.status).toBe(400);
      expect(firstTagged.body.error?.message).toBe(
        '(#100) Message Tags cannot be used for the initial message to a login_id',
      );
      expect(first.status).toBe(200);
      expect(lateUpdate.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(lateTagged.status).toBe(200);
      expect(emulator.messages().map((m) => [m.messagingType, m.tag])).toEqual([
        ['UPDATE', undefined],
        ['MESSAGE_TAG', 'ACCOUNT_UPDATE'],
      ]);
    });

    it('refuses an opted-out login_id with 551, classified as opted_out', async () => {
      // Arrange
      optin();
      emulator.registerOptout({ loginId: LOGIN });

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({
        httpStatus: 400,
        code: 551,
        message: "(#551) This person isn't available right now.",
      });
      expect(classifySendFailure(outcome.failure)).toBe('opted_out');
    });

    it('refuses only the named Page when an opt-out has a pageId', async () => {
      // Arrange
      optin();
      emulator.registerOptout({ loginId: LOGIN, pageId: OTHER_PAGE_ID });

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.status).toBe(200);
    });

    it('restarts the window and clears the lock when the opt-in is registered again', async () => {
      // Arrange
      optin(LOGIN, PAGE_ID, T0);
      await post(update());
      clock = T0 + 2 * DAY_MS;

      // Act
      const stale = await post(update());
      optin(LOGIN, OTHER_PAGE_ID, clock);
      const otherPage = await post(update(), OTHER_PAGE_TOKEN);

      // Assert
      expect(stale.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(otherPage.status).toBe(200);
      expect(emulator.state().locks).toEqual([
        { loginId: LOGIN, pageId: OTHER_PAGE_ID, lockedAt: clock },
      ]);
    });
  });

  describe('POST /{version}/me/messages to a PSID', () => {
    it('refuses a PSID the Page has never seen with 100/2018001', async () => {
      // Arrange
      userMessage(HOUR_MS, PSID, OTHER_PAGE_ID);

      // Act
      const answer = await post(toPsid());
      const tagged = await post(toPsid(PSID, 'MESSAGE_TAG'));

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        message: '(#100) No matching user found',
        type: 'OAuthException',
        code: 100,
        error_subcode: 2018001,
        fbtrace_id: expect.any(String),
      });
      expect(tagged.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(emulator.messages()).toEqual([]);
    });

    describe('Message Tags as they stand after 27 April 2026', () => {
      const AFTER_RETIREMENT = Date.parse('2026-05-01T12:00:00.000Z');
      const tagged = (tag: string) => ({ ...toPsid(PSID, 'MESSAGE_TAG'), tag });

      it.each(['ACCOUNT_UPDATE', 'POST_PURCHASE_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'NO_SUCH_TAG'])(
        'refuses %s with code 100 "Invalid parameter" and sends nothing',
        async (tag) => {
          clock = AFTER_RETIREMENT;
          userMessage(2 * DAY_MS);

          const answer = await post(tagged(tag));

          expect(answer.status).toBe(400);
          expect(answer.body.error).toMatchObject({
            code: 100,
            message: '(#100) Invalid parameter',
          });
          expect(emulator.messages()).toEqual([]);
        },
      );

      it.each([
        ['2 days', 2 * DAY_MS, 200],
        ['7 days less 1 ms', 7 * DAY_MS - 1, 200],
        ['7 days', 7 * DAY_MS, 400],
      ])('answers HUMAN_AGENT %s after the user message with HTTP %s', async (_, ago, status) => {
        clock = AFTER_RETIREMENT;
        userMessage(ago);

        const answer = await post(tagged('HUMAN_AGENT'));

        expect(answer.status).toBe(status);
        if (status === 400)
          expect(answer.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      });
    });

    it.each<[SendApiBody['messaging_type'], string, number, number]>([
      ['UPDATE', '23 h', 23 * HOUR_MS, 200],
      ['RESPONSE', '23 h', 23 * HOUR_MS, 200],
      ['UPDATE', 'exactly 24 h', DAY_MS, 200],
      ['UPDATE', '24 h and 1 ms', DAY_MS + 1, 400],
      ['UPDATE', '25 h', 25 * HOUR_MS, 400],
      ['RESPONSE', '25 h', 25 * HOUR_MS, 400],
      ['MESSAGE_TAG', '25 h', 25 * HOUR_MS, 200],
      ['MESSAGE_TAG', '30 days', 30 * DAY_MS, 200],
    ])('answers %s sent %s after the user message with HTTP %s', async (type, _, ago, status) => {
      // Arrange
      userMessage(ago);

      // Act
      const answer = await post(toPsid(PSID, type));

      // Assert
      expect(answer.status).toBe(status);
      if (status === 400) {
        expect(answer.body.error).toMatchObject({
          code: 10,
          error_subcode: 2018278,
          message: '(#10) This message is sent outside of allowed window.',
          type: 'OAuthException',
        });
        expect(emulator.messages()).toEqual([]);
      } else {
        expect(answer.body).toEqual({ recipient_id: PSID, message_id: expect.any(String) });
      }
    });

    it('classifies an UPDATE 25 h after the user message as window_closed through sendApiClient', async () => {
      // Arrange
      userMessage(25 * HOUR_MS);

      // Act
      const outcome = await send(toPsid());

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({ httpStatus: 400, code: 10, subcode: 2018278 });
      expect(classifySendFailure(outcome.failure)).toBe('window_closed');
    });

    it('moves the window forward on a later user message and not back on an older one', async () => {
      // Arrange
      userMessage(25 * HOUR_MS);
      const closed = await post(toPsid());
      const later = userMessage(HOUR_MS);
      const older = userMessage(3 * DAY_MS);

      // Act
      const reopened = await post(toPsid());
      clock += 22 * HOUR_MS;
      const stillOpen = await post(toPsid());
      clock += 2 * HOUR_MS;
      const closedAgain = await post(toPsid());

      // Assert
      expect(closed.status).toBe(400);
      expect(later).toEqual({
        psid: PSID,
        pageId: PAGE_ID,
        lastMessageAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(older).toEqual(later);
      expect(reopened.status).toBe(200);
      expect(stillOpen.status).toBe(200);
      expect(closedAgain.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(emulator.state().userMessages).toEqual([later]);
    });

    it('refuses an opted-out PSID with 551, only on the named Page when the opt-out has one', async () => {
      // Arrange
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, PSID, OTHER_PAGE_ID);
      userMessage(HOUR_MS, '2222222222222222');
      emulator.registerOptout({ psid: PSID, pageId: PAGE_ID });
      emulator.registerOptout({ psid: '2222222222222222' });

      // Act
      const outcome = await send(toPsid());
      const tagged = await post(toPsid(PSID, 'MESSAGE_TAG'));
      const otherPage = await post(toPsid(), OTHER_PAGE_TOKEN);
      const everywhere = await post(toPsid('2222222222222222'));

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({
        httpStatus: 400,
        code: 551,
        message: "(#551) This person isn't available right now.",
      });
      expect(classifySendFailure(outcome.failure)).toBe('opted_out');
      expect(tagged.body.error).toMatchObject({ code: 551 });
      expect(otherPage.status).toBe(200);
      expect(everywhere.body.error).toMatchObject({ code: 551 });
    });

    it('refuses 551 before 2018001 for an opted-out PSID the Page has never seen', async () => {
      // Arrange
      emulator.registerOptout({ psid: PSID });

      // Act
      const answer = await post(toPsid());

      // Assert
      expect(answer.body.error).toMatchObject({ code: 551 });
    });

    it('answers a queued fault to a PSID send before the PSID rules', async () => {
      // Arrange
      emulator.addFault({ kind: 'rate_limit' });

      // Act
      const faulted = await post(toPsid());
      const unknown = await post(toPsid());

      // Assert
      expect(faulted.body.error).toMatchObject({ code: 613 });
      expect(unknown.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(emulator.requests().map((r) => r.outcome)).toEqual(['fault', 'refused']);
    });

    it('forgets user messages and known PSIDs on reset', async () => {
      // Arrange
      optin();
      userMessage(HOUR_MS);
      const first = await post(update());
      const linked = String(first.body.recipient_id);

      // Act
      emulator.reset();
      const toUser = await post(toPsid());
      const toLinked = await post(toPsid(linked, 'MESSAGE_TAG'));

      // Assert
      expect(emulator.state()).toMatchObject({ userMessages: [], psids: [] });
      expect(toUser.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(toLinked.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
    });
  });

  describe('POST /{version}/me/messages after the first login_id message', () => {
    /** Opts in at T0 and sends the first message; answers the linked PSID. */
    async function firstMessageSent(): Promise<string> {
      optin(LOGIN, PAGE_ID, T0);
      const first = await post(update());
      if (first.status !== 200) throw new Error(`first message refused: ${first.status}`);
      return String(first.body.recipient_id);
    }

    it('makes the recipient_id of a login_id send known: tagged sends pass, UPDATE has no window', async () => {
      // Arrange
      const linked = await firstMessageSent();
      clock = T0 + 3 * DAY_MS;

      // Act
      const tagged = await post(toPsid(linked, 'MESSAGE_TAG'));
      const untagged = await post(toPsid(linked));
      const onOtherPage = await post(toPsid(linked, 'MESSAGE_TAG'), OTHER_PAGE_TOKEN);

      // Assert
      expect(tagged.body).toEqual({ recipient_id: linked, message_id: expect.any(String) });
      expect(untagged.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(onOtherPage.body.error).toMatchObject({ code: 100, error_subcode: 2018001 });
      expect(emulator.state().psids).toEqual([{ psid: linked, pageId: PAGE_ID, loginId: LOGIN }]);
    });

    it('refuses an UPDATE to a known PSID with no user message even inside the opt-in 24 h', async () => {
      // Arrange
      const linked = await firstMessageSent();

      // Act
      const toPsidUpdate = await post(toPsid(linked));
      const toLoginUpdate = await post(update());

      // Assert
      expect(toPsidUpdate.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(toLoginUpdate.status).toBe(200);
    });

    it('refuses an UPDATE to the login_id after 24 h unless the linked PSID messaged within 24 h', async () => {
      // Arrange
      const linked = await firstMessageSent();
      clock = T0 + 25 * HOUR_MS;

      // Act
      const stale = await post(update());
      userMessage(2 * HOUR_MS, linked);
      const reopened = await post(update());
      const reopenedResponse = await post({ ...update(), messaging_type: 'RESPONSE' });
      clock += 23 * HOUR_MS;
      const closedAgain = await post(update());
      const tagged = await post({
        ...update(),
        messaging_type: 'MESSAGE_TAG',
        tag: 'ACCOUNT_UPDATE',
      });

      // Assert
      expect(stale.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(reopened.status).toBe(200);
      expect(reopened.body.recipient_id).toBe(linked);
      expect(reopenedResponse.status).toBe(200);
      expect(closedAgain.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
      expect(tagged.status).toBe(200);
      expect(emulator.messages({ loginId: LOGIN }).map((m) => m.messagingType)).toEqual([
        'UPDATE',
        'UPDATE',
        'RESPONSE',
        'MESSAGE_TAG',
      ]);
    });

    it('does not re-open the login_id window for a user message from another PSID or Page', async () => {
      // Arrange
      const linked = await firstMessageSent();
      clock = T0 + 25 * HOUR_MS;
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, linked, OTHER_PAGE_ID);

      // Act
      const answer = await post(update());

      // Assert
      expect(answer.body.error).toMatchObject({ code: 10, error_subcode: 2018278 });
    });

    it('refuses the login_id and its linked PSID alike once either is opted out', async () => {
      // Arrange
      const linked = await firstMessageSent();
      optin('login-2', PAGE_ID, T0);
      const second = await post(update('login-2'));
      const linked2 = String(second.body.recipient_id);
      emulator.registerOptout({ loginId: LOGIN });
      emulator.registerOptout({ psid: linked2 });

      // Act
      const viaPsid = await post(toPsid(linked, 'MESSAGE_TAG'));
      const viaLogin = await post(update('login-2'));

      // Assert
      expect(viaPsid.body.error).toMatchObject({ code: 551 });
      expect(viaLogin.body.error).toMatchObject({ code: 551 });
    });
  });

  describe('credentials', () => {
    it('refuses a request without a token with code 2500', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages`, { json: update() });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toEqual({
        message: 'An active access token must be used to query information about the current user.',
        type: 'OAuthException',
        code: 2500,
        fbtrace_id: expect.any(String),
      });
    });

    it('refuses an unknown token with code 190, classified as token_invalid', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send(update(), 'EAAB-not-a-page-token');

      // Assert
      if (outcome.ok) throw new Error('expected a refusal');
      expect(outcome.failure).toMatchObject({
        httpStatus: 400,
        code: 190,
        type: 'OAuthException',
        message: 'Invalid OAuth access token - Cannot parse access token',
      });
      expect(classifySendFailure(outcome.failure)).toBe('token_invalid');
    });

    it('accepts the token in an Authorization: Bearer header', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        json: update(),
        headers: { authorization: `Bearer ${PAGE_TOKEN}` },
      });

      // Assert
      expect(answer.status).toBe(200);
      expect(emulator.requests().at(-1)).toMatchObject({ tokenIn: 'header', pageId: PAGE_ID });
    });

    it.each<[string, () => { query: string; body: Body }]>([
      [
        'multipart form fields with JSON strings (curl -F)',
        () => {
          const form = new FormData();
          form.set('recipient', JSON.stringify({ login_id: LOGIN }));
          form.set('messaging_type', 'UPDATE');
          form.set('message', JSON.stringify({ text: 'hi' }));
          form.set('access_token', PAGE_TOKEN);
          form.set('appsecret_proof', proofOf(PAGE_TOKEN));
          return { query: '', body: form };
        },
      ],
      [
        'url-encoded bracket fields',
        () => ({
          query: '',
          body: new URLSearchParams({
            'recipient[login_id]': LOGIN,
            messaging_type: 'UPDATE',
            'message[text]': 'hi',
            access_token: PAGE_TOKEN,
            appsecret_proof: proofOf(PAGE_TOKEN),
          }),
        }),
      ],
      [
        'every parameter in the query string',
        () => ({
          query: `?${new URLSearchParams({
            recipient: JSON.stringify({ login_id: LOGIN }),
            messaging_type: 'UPDATE',
            message: JSON.stringify({ text: 'hi' }),
            access_token: PAGE_TOKEN,
            appsecret_proof: proofOf(PAGE_TOKEN),
          })}`,
          body: '',
        }),
      ],
    ])('accepts %s', async (_, build) => {
      // Arrange
      optin();
      const { query, body } = build();

      // Act
      const answer = await call(`/${VERSION}/me/messages${query}`, { body });

      // Assert
      expect(answer.status).toBe(200);
      expect(emulator.messages()).toMatchObject([
        { recipient: { login_id: LOGIN }, message: { text: 'hi' } },
      ]);
    });

    it('refuses a request without appsecret_proof', async () => {
      // Arrange
      optin();

      // Act
      const answer = await call(`/${VERSION}/me/messages`, {
        json: { ...update(), access_token: PAGE_TOKEN },
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        type: 'GraphMethodException',
        message: 'API calls from the server require an appsecret_proof argument',
      });
    });

    it('refuses an appsecret_proof made with another secret', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await client()({
        accessToken: PAGE_TOKEN,
        appSecret: 'not-the-app-secret',
        body: update(),
      });

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: {
          httpStatus: 400,
          code: 100,
          type: 'GraphMethodException',
          message: 'Invalid appsecret_proof provided in the API argument',
        },
      });
      expect(emulator.messages()).toEqual([]);
    });

    it('accepts a request without appsecret_proof when requireAppSecretProof is false', async () => {
      // Arrange
      const lenient = await GraphEmulator.start({
        secrets: async () => secrets,
        requireAppSecretProof: false,
      });
      lenient.registerOptin({ loginId: LOGIN, pageId: PAGE_ID });

      try {
        // Act
        const response = await fetch(`${lenient.url}/v2.0/me/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...update(), access_token: PAGE_TOKEN }),
        });

        // Assert
        expect(response.status).toBe(200);
        expect(lenient.messages()).toHaveLength(1);
      } finally {
        await lenient.close();
      }
    });

    it('answers a retryable 500 naming the cause when the secrets cannot be read', async () => {
      // Arrange
      const broken = await GraphEmulator.start({
        secrets: () => {
          throw new Error('Unexpected end of JSON input');
        },
      });

      try {
        // Act
        const outcome = await sendApiClient({
          baseUrl: broken.url,
          version: VERSION,
          timeoutMs: 2000,
        })({ accessToken: PAGE_TOKEN, appSecret: APP_SECRET, body: update() });

        // Assert
        if (outcome.ok) throw new Error('expected a refusal');
        expect(outcome.failure).toMatchObject({
          httpStatus: 500,
          code: 1,
          message: expect.stringContaining('Unexpected end of JSON input'),
        });
        expect(classifySendFailure(outcome.failure)).toBe('transient');
        expect(broken.requests()).toMatchObject([{ status: 500, outcome: 'refused' }]);
      } finally {
        await broken.close();
      }
    });

    it('accepts POST /{page-id}/messages for the token Page and refuses another Page id', async () => {
      // Arrange
      optin();

      // Act
      const own = await post(update(), PAGE_TOKEN, PAGE_ID);
      const foreign = await post(update(), PAGE_TOKEN, OTHER_PAGE_ID);

      // Assert
      expect(own.status).toBe(200);
      expect(foreign.status).toBe(400);
      expect(foreign.body.error).toMatchObject({
        code: 100,
        error_subcode: 33,
        type: 'GraphMethodException',
        message: expect.stringContaining(`Object with ID '${OTHER_PAGE_ID}' does not exist`),
      });
    });
  });

  describe('parameters', () => {
    it('refuses a login_id put into recipient.id with the error Meta documents', async () => {
      // Arrange
      optin();

      // Act
      const outcome = await send({ ...update(), recipient: { id: LOGIN } });

      // Assert
      expect(outcome).toMatchObject({
        ok: false,
        failure: {
          httpStatus: 400,
          code: 100,
          message: '(#100) Param recipient[id] must be a valid ID string (e.g., "123")',
        },
      });
    });

    it('accepts a PSID in recipient.id and answers it as recipient_id', async () => {
      // Arrange
      userMessage(HOUR_MS);

      // Act
      const answer = await post({ ...update(), recipient: { id: '1234567890123456' } });

      // Assert
      expect(answer.body).toEqual({
        recipient_id: '1234567890123456',
        message_id: expect.any(String),
      });
      expect(emulator.messages()).toMatchObject([{ recipient: { id: '1234567890123456' } }]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a missing recipient', { recipient: undefined }, 'The parameter recipient is required'],
      [
        'two recipient keys',
        { recipient: { login_id: LOGIN, id: '123' } },
        'Param recipient must have exactly one of id, login_id',
      ],
      [
        'a missing messaging_type',
        { messaging_type: undefined },
        'The parameter messaging_type is required',
      ],
      [
        'an unknown messaging_type',
        { messaging_type: 'NON_PROMOTIONAL_SUBSCRIPTION' },
        'Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}',
      ],
      [
        'MESSAGE_TAG without a tag',
        { messaging_type: 'MESSAGE_TAG' },
        'Param tag is required when messaging_type is MESSAGE_TAG',
      ],
      [
        'a tag without MESSAGE_TAG',
        { tag: 'ACCOUNT_UPDATE' },
        'Param tag can only be used with messaging_type MESSAGE_TAG',
      ],
      [
        'an invalid quick reply',
        { message: { text: 'hi', quick_replies: [{ content_type: 'text', title: 'Go' }] } },
        'Param message[quick_replies][0][payload] is required for a text quick reply',
      ],
      [
        'an unknown message field',
        { message: { text: 'hi', colour: 'red' } },
        'Param message[colour] is not a valid parameter',
      ],
      ['a missing message', { message: undefined }, 'The parameter message is required'],
    ])('refuses %s with a (#100) error naming the param', async (_, change, message) => {
      // Arrange
      optin();

      // Act
      const answer = await post({ ...update(), ...change });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/^\(#100\) /),
      });
      expect(answer.body.error?.message).toContain(message);
      expect(emulator.messages()).toEqual([]);
    });

    it('refuses 2001 characters of text naming message[text] and accepts 2000', async () => {
      // Arrange
      optin();

      // Act
      const tooLong = await post(update(LOGIN, 'x'.repeat(2001)));
      const longest = await post(update(LOGIN, 'x'.repeat(2000)));

      // Assert
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error?.message).toBe(
        '(#100) Length of param message[text] must be less than or equal to 2000',
      );
      expect(longest.status).toBe(200);
    });

    it('refuses a message without text or attachment with 100/2018034', async () => {
      // Arrange
      optin();

      // Act
      const answer = await post({ ...update(), message: {} });

      // Assert
      expect(answer.body.error).toMatchObject({ code: 100, error_subcode: 2018034 });
    });

    it('refuses a body that is not JSON', async () => {
      // Act
      const answer = await call(`/${VERSION}/me/messages`, {
        body: '{"recipient":',
        headers: { 'content-type': 'application/json' },
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringContaining('not valid JSON'),
      });
    });
  });

  describe('faults', () => {
    it.each<[FaultKind, number, FailureKind]>([
      ['server_error', 500, 'transient'],
      ['rate_limit', 400, 'transient'],
      ['unavailable', 400, 'opted_out'],
      ['window_closed', 400, 'window_closed'],
      ['token_invalid', 400, 'token_invalid'],
      ['page_restricted', 400, 'page_restricted'],
      ['page_rate_limit', 400, 'transient'],
    ])('answers the %s preset with HTTP %s, classified as %s', async (kind, status, expected) => {
      // Arrange
      optin();
      emulator.addFault({ kind });

      // Act
      const outcome = await send(update());

      // Assert
      if (outcome.ok) throw new Error('expected a fault');
      expect(outcome.failure.httpStatus).toBe(status);
      expect(outcome.failure.fbtraceId).toEqual(expect.any(String));
      expect(classifySendFailure(outcome.failure)).toBe(expected);
      expect(emulator.messages()).toEqual([]);
      expect(emulator.requests().at(-1)).toMatchObject({ outcome: 'fault', status });
    });

    it('applies a fault `times` times, then processes normally', async () => {
      // Arrange
      optin();
      emulator.addFault({ kind: 'rate_limit', times: 2 });

      // Act
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await post(update())).status);

      // Assert
      expect(statuses).toEqual([400, 400, 200]);
      expect(emulator.state().faults).toEqual([]);
      expect(emulator.messages()).toHaveLength(1);
    });

    it('applies a fault only to its loginId and pageId', async () => {
      // Arrange
      optin();
      optin('login-other');
      emulator.addFault({ kind: 'server_error', loginId: 'login-other' });
      emulator.addFault({ kind: 'server_error', pageId: OTHER_PAGE_ID });

      // Act
      const unaffected = await post(update());
      const targeted = await post(update('login-other'));

      // Assert
      expect(unaffected.status).toBe(200);
      expect(targeted.status).toBe(500);
      expect(emulator.state().faults).toMatchObject([{ pageId: OTHER_PAGE_ID, remaining: 1 }]);
    });

    it('answers a custom status and error, or a raw body', async () => {
      // Arrange
      optin();
      emulator.addFault({ status: 503, error: { code: 1200, message: 'Temporary send failure' } });
      emulator.addFault({ status: 502, body: '<html>Bad Gateway</html>' });

      // Act
      const custom = await send(update());
      const raw = await call(`/${VERSION}/me/messages?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        json: { ...update(), access_token: PAGE_TOKEN },
      });

      // Assert
      expect(custom).toMatchObject({
        ok: false,
        failure: { httpStatus: 503, code: 1200, message: 'Temporary send failure' },
      });
      expect(raw.status).toBe(502);
      expect(raw.body).toEqual({ text: '<html>Bad Gateway</html>' });
    });

    it('delays a slow fault, then delivers the message', async () => {
      // Arrange
      optin();
      emulator.addFault({ kind: 'slow', delayMs: 150 });
      const started = Date.now();

      // Act
      const outcome = await send(update());

      // Assert
      expect(outcome.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(emulator.messages()).toHaveLength(1);
    });

    it('discards a delayed send whose client gives up, so only the retry is recorded', async () => {
      // Arrange
      optin();
      emulator.addFault({ kind: 'slow', delayMs: 600 });

      // Act
      const timedOut = await send(update(), PAGE_TOKEN, 150);
      await sleep(650); // past the delay: a late delivery would show up now
      const afterAbort = emulator.messages();
      const locksAfterAbort = emulator.state().locks;
      const retry = await send(update());

      // Assert
      expect(timedOut).toMatchObject({ ok: false, failure: { network: 'timeout' } });
      if (timedOut.ok) throw new Error('unreachable');
      expect(classifySendFailure(timedOut.failure)).toBe('transient');
      expect(afterAbort).toEqual([]);
      expect(locksAfterAbort).toEqual([]);
      if (!retry.ok) throw new Error(`retry refused: ${retry.failure.message}`);
      expect(emulator.messages().map((m) => m.messageId)).toEqual([retry.messageId]);
      expect(emulator.requests().map((r) => [r.outcome, r.status])).toEqual([
        ['aborted', 499],
        ['accepted', 200],
      ]);
    });

    it('records a delayed send whose client gives up when deliverOnAbort is set', async () => {
      // Arrange
      optin();
      emulator.addFault({ kind: 'slow', delayMs: 600, deliverOnAbort: true });

      // Act
      const timedOut = await send(update(), PAGE_TOKEN, 150);
      await sleep(100);

      // Assert
      expect(timedOut.ok).toBe(false);
      expect(emulator.messages()).toHaveLength(1);
      expect(emulator.requests()).toMatchObject([
        { outcome: 'aborted', messageId: emulator.messages()[0]?.messageId },
      ]);
    });
  });

  describe('flaky', () => {
    /** `n` sends to registered opt-ins; the HTTP status of each (499 when the client gave up). */
    async function statuses(n: number, timeoutMs = 2000): Promise<number[]> {
      const out: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const loginId = `flaky-${i}`;
        optin(loginId);
        const outcome = await send(update(loginId), PAGE_TOKEN, timeoutMs);
        out.push(outcome.ok ? 200 : (outcome.failure.httpStatus ?? 499));
      }
      return out;
    }

    it('answers about `rate` of the sends with its faults, the rest normally', async () => {
      // Arrange
      emulator.setFlaky({
        rate: 0.3,
        seed: 7,
        faults: [{ kind: 'server_error' }, { kind: 'rate_limit', weight: 2 }],
      });

      // Act
      const seen = await statuses(400);

      // Assert: 120 expected; 3 standard deviations of a binomial(400, 0.3) is ±28.
      const faulted = seen.filter((status) => status !== 200);
      expect(faulted.length).toBeGreaterThan(92);
      expect(faulted.length).toBeLessThan(148);
      const rateLimited = faulted.filter((status) => status === 400).length;
      expect(rateLimited / faulted.length).toBeGreaterThan(0.5);
      expect(emulator.messages()).toHaveLength(400 - faulted.length);
      const flagged = emulator.requests().filter((r) => r.flaky);
      expect(flagged).toHaveLength(faulted.length);
      expect(new Set(flagged.map((r) => r.error?.code))).toEqual(new Set([2, 613]));
    });

    it('draws the same answers again from the same seed', async () => {
      // Arrange
      const run = async () => {
        emulator.reset();
        emulator.setFlaky({ rate: 0.5, seed: 42, faults: [{ kind: 'server_error' }] });
        return statuses(40);
      };

      // Act
      const first = await run();
      const second = await run();

      // Assert
      expect(second).toEqual(first);
      expect(first).toContain(500);
      expect(first).toContain(200);
    });

    it("defaults to the issue's mix: 500 code 1 or 2, 613, and a 25 s hang", () => {
      // Act
      const setting = emulator.setFlaky({ rate: 0.3 });

      // Assert
      expect(setting.faults).toEqual([
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 500,
            error: expect.objectContaining({ code: 1 }),
          }),
        }),
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 500,
            error: expect.objectContaining({ code: 2 }),
          }),
        }),
        expect.objectContaining({
          weight: 1,
          delayMs: 0,
          reply: expect.objectContaining({
            status: 400,
            error: expect.objectContaining({ code: 613 }),
          }),
        }),
        expect.objectContaining({
          kind: 'hang',
          weight: 1,
          delayMs: 25_000,
          reply: expect.objectContaining({ status: 500 }),
        }),
      ]);
      expect(setting.seed).toEqual(expect.any(Number));
      expect(emulator.state().flaky).toEqual(setting);
    });

    it('lets queued faults answer first, without drawing', async () => {
      // Arrange
      emulator.setFlaky({ rate: 1, faults: [{ kind: 'rate_limit' }] });
      emulator.addFault({ kind: 'server_error' });

      // Act
      const seen = await statuses(2);

      // Assert
      expect(seen).toEqual([500, 400]);
      expect(emulator.requests().map((r) => [r.faultId !== undefined, r.flaky ?? false])).toEqual([
        [true, false],
        [false, true],
      ]);
    });

    it('is turned off by DELETE /_emulator/flaky and by reset', async () => {
      // Arrange
      const set = await call('/_emulator/flaky', { json: { rate: 1 } });

      // Act
      const cleared = await call('/_emulator/flaky', { method: 'DELETE' });
      const again = await call('/_emulator/flaky', { method: 'DELETE' });
      emulator.setFlaky({ rate: 1 });
      emulator.reset();

      // Assert
      expect(set.status).toBe(201);
      expect(set.body).toMatchObject({ rate: 1 });
      expect(cleared.body).toEqual({ cleared: true });
      expect(again.body).toEqual({ cleared: false });
      expect(emulator.state().flaky).toBeNull();
      expect(await statuses(3)).toEqual([200, 200, 200]);
    });

    it('refuses a rate outside 0 to 1 with 400', async () => {
      expect((await call('/_emulator/flaky', { json: { rate: 1.5 } })).status).toBe(400);
      expect((await call('/_emulator/flaky', { json: { rate: 0.2, faults: [] } })).status).toBe(
        400,
      );
    });

    it('hangs, then answers 500 and delivers nothing; a client that gave up gets nothing either', async () => {
      // Arrange
      optin();
      emulator.addFault({ kind: 'hang', delayMs: 150, times: 2 });

      // Act
      const waited = await send(update(), PAGE_TOKEN, 2000);
      const gaveUp = await send(update(), PAGE_TOKEN, 50);
      await sleep(200);

      // Assert
      expect(waited).toMatchObject({ ok: false, failure: { httpStatus: 500, code: 2 } });
      expect(gaveUp).toMatchObject({ ok: false, failure: { network: 'timeout' } });
      expect(emulator.messages()).toEqual([]);
    });
  });

  describe('other routes', () => {
    it('answers an unknown path with a 404 Graph error', async () => {
      // Act
      const answer = await call('/v25.0/me/conversations', { method: 'GET' });

      // Assert
      expect(answer.status).toBe(404);
      expect(answer.body.error).toMatchObject({ code: 100, fbtrace_id: expect.any(String) });
    });

    it('refuses GET on the messages edge', async () => {
      // Act
      const answer = await call(`/${VERSION}/me/messages?access_token=${PAGE_TOKEN}`, {
        method: 'GET',
      });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({
        code: 100,
        message: expect.stringMatching(/^Unsupported get request/),
      });
    });

    it('answers /{user-id}/permissions with the default grants or the configured ones', async () => {
      // Arrange
      emulator.setPermissions({ userId: '42', granted: ['public_profile'], declined: ['email'] });

      // Act
      const byDefault = await call(`/${VERSION}/7/permissions?access_token=user-token`, {
        method: 'GET',
      });
      const configured = await call(`/${VERSION}/42/permissions`, {
        method: 'GET',
        headers: { authorization: 'Bearer user-token' },
      });
      const anonymous = await call(`/${VERSION}/42/permissions`, { method: 'GET' });

      // Assert
      expect(byDefault.body).toEqual({
        data: [
          { permission: 'public_profile', status: 'granted' },
          { permission: 'user_messenger_contact', status: 'granted' },
        ],
      });
      expect(configured.body).toEqual({
        data: [
          { permission: 'public_profile', status: 'granted' },
          { permission: 'email', status: 'declined' },
        ],
      });
      expect(anonymous.body.error).toMatchObject({ code: 104 });
    });
  });

  describe('control API', () => {
    it('registers opt-ins and opt-outs over HTTP and shows them in the state', async () => {
      // Act
      const created = await call('/_emulator/optins', {
        json: { loginId: LOGIN, pageId: PAGE_ID, timestamp: T0 - HOUR_MS },
      });
      const defaulted = await call('/_emulator/optins', {
        json: { loginId: 'login-now', pageId: Number(PAGE_ID) },
      });
      const optout = await call('/_emulator/optouts', { json: { loginId: 'login-now' } });
      const state = await call('/_emulator/state', { method: 'GET' });

      // Assert
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        loginId: LOGIN,
        pageId: PAGE_ID,
        optedInAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(defaulted.body).toMatchObject({ pageId: PAGE_ID, optedInAt: T0 });
      expect(optout.status).toBe(201);
      expect(state.body).toMatchObject({
        optins: [{ loginId: LOGIN }, { loginId: 'login-now' }],
        locks: [],
        optouts: [{ loginId: 'login-now' }],
        faults: [],
      });
    });

    it('registers user messages and PSID opt-outs over HTTP and shows them in the state', async () => {
      // Act
      const created = await call('/_emulator/user-messages', {
        json: { psid: PSID, pageId: PAGE_ID, timestamp: T0 - HOUR_MS },
      });
      const defaulted = await call('/_emulator/user-messages', {
        json: { psid: 2222222222222222, pageId: Number(PAGE_ID) },
      });
      const optout = await call('/_emulator/optouts', {
        json: { psid: '2222222222222222', pageId: PAGE_ID },
      });
      const state = await call('/_emulator/state', { method: 'GET' });

      // Assert
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        psid: PSID,
        pageId: PAGE_ID,
        lastMessageAt: T0 - HOUR_MS,
        windowClosesAt: T0 - HOUR_MS + DAY_MS,
      });
      expect(defaulted.body).toMatchObject({ psid: '2222222222222222', lastMessageAt: T0 });
      expect(optout.status).toBe(201);
      expect(optout.body).toEqual({ psid: '2222222222222222', pageId: PAGE_ID });
      expect(state.body).toMatchObject({
        userMessages: [{ psid: PSID }, { psid: '2222222222222222' }],
        psids: [
          { psid: PSID, pageId: PAGE_ID },
          { psid: '2222222222222222', pageId: PAGE_ID },
        ],
        optouts: [{ psid: '2222222222222222', pageId: PAGE_ID }],
      });
    });

    it('answers 400 naming the field for an invalid user message or opt-out', async () => {
      // Act
      const notDigits = await call('/_emulator/user-messages', {
        json: { psid: LOGIN, pageId: PAGE_ID },
      });
      const noPage = await call('/_emulator/user-messages', { json: { psid: PSID } });
      const both = await call('/_emulator/optouts', { json: { loginId: LOGIN, psid: PSID } });
      const neither = await call('/_emulator/optouts', { json: { pageId: PAGE_ID } });

      // Assert
      expect(notDigits.status).toBe(400);
      expect(String(notDigits.body.error?.message)).toContain('userMessage.psid');
      expect(String(noPage.body.error?.message)).toContain('userMessage.pageId');
      expect(both.status).toBe(400);
      expect(String(both.body.error?.message)).toContain('needs exactly one of loginId, psid');
      expect(neither.status).toBe(400);
      expect(emulator.state()).toMatchObject({ userMessages: [], optouts: [] });
    });

    it('lists PSID sends filtered by psid, apart from login_id sends', async () => {
      // Arrange
      optin();
      const first = await post(update());
      const linked = String(first.body.recipient_id);
      userMessage(HOUR_MS);
      userMessage(HOUR_MS, linked);
      await post(toPsid());
      await post(toPsid(linked, 'RESPONSE'));

      // Act
      const one = await call(`/_emulator/messages?psid=${PSID}`, { method: 'GET' });
      const linkedOnly = await call(`/_emulator/messages?psid=${linked}`, { method: 'GET' });
      const byLogin = await call(`/_emulator/messages?loginId=${LOGIN}`, { method: 'GET' });

      // Assert
      expect(one.body).toEqual([
        {
          messageId: expect.any(String),
          pageId: PAGE_ID,
          recipient: { id: PSID },
          messagingType: 'UPDATE',
          message: { text: 'Your order has shipped' },
          at: new Date(T0).toISOString(),
          recipientId: PSID,
        },
      ]);
      expect(linkedOnly.body).toMatchObject([
        { recipient: { id: linked }, messagingType: 'RESPONSE' },
      ]);
      expect(byLogin.body).toMatchObject([{ recipient: { login_id: LOGIN }, recipientId: linked }]);
    });

    it('answers 400 naming the field for an invalid opt-in or fault', async () => {
      // Act
      const optinAnswer = await call('/_emulator/optins', { json: { loginId: LOGIN } });
      const faultAnswer = await call('/_emulator/faults', { json: { kind: 'meltdown' } });
      const notJson = await call('/_emulator/faults', { body: 'kind=slow' });

      // Assert
      expect(optinAnswer.status).toBe(400);
      expect(String(optinAnswer.body.error?.message)).toContain('optin.pageId');
      expect(faultAnswer.status).toBe(400);
      expect(String(faultAnswer.body.error?.message)).toContain('fault.kind');
      expect(notJson.status).toBe(400);
    });

    it('queues and clears faults over HTTP', async () => {
      // Arrange
      optin();

      // Act
      const queued = await call('/_emulator/faults', {
        json: { kind: 'unavailable', loginId: LOGIN, times: 3 },
      });
      const first = await post(update());
      const cleared = await call('/_emulator/faults', { method: 'DELETE' });
      const second = await post(update());

      // Assert
      expect(queued.status).toBe(201);
      expect(queued.body).toMatchObject({
        kind: 'unavailable',
        loginId: LOGIN,
        remaining: 3,
        reply: { status: 400, error: { code: 551 } },
      });
      expect(first.body.error).toMatchObject({ code: 551 });
      expect(cleared.body).toEqual({ cleared: 1 });
      expect(second.status).toBe(200);
    });

    it('lists messages oldest first, filtered by loginId or pageId', async () => {
      // Arrange
      optin('login-1');
      optin('login-2');
      await post(update('login-1'));
      clock += 1000;
      await post(update('login-2'));

      // Act
      const all = await call('/_emulator/messages', { method: 'GET' });
      const one = await call('/_emulator/messages?loginId=login-2', { method: 'GET' });
      const none = await call(`/_emulator/messages?pageId=${OTHER_PAGE_ID}`, { method: 'GET' });

      // Assert
      expect((all.body as unknown as { recipient: unknown }[]).map((m) => m.recipient)).toEqual([
        { login_id: 'login-1' },
        { login_id: 'login-2' },
      ]);
      expect(one.body).toMatchObject([{ recipient: { login_id: 'login-2' } }]);
      expect(none.body).toEqual([]);
    });

    it('records every send request without tokens or proofs', async () => {
      // Arrange
      optin();
      const proof = proofOf(PAGE_TOKEN);

      // Act
      await send(update());
      await post(update(), OTHER_PAGE_TOKEN);
      await call(`/${VERSION}/me/messages?access_token=${PAGE_TOKEN}&appsecret_proof=${proof}`, {
        json: update(),
      });
      await call(`/${VERSION}/me/messages?appsecret_proof=${proof}`, {
        json: update(),
        headers: { authorization: `Bearer ${PAGE_TOKEN}` },
      });
      await send(update(), 'EAAB-unknown-token');
      const answer = await call('/_emulator/requests', { method: 'GET' });

      // Assert
      const text = JSON.stringify(answer.body);
      for (const secret of [
        PAGE_TOKEN,
        OTHER_PAGE_TOKEN,
        'EAAB-unknown-token',
        proof,
        APP_SECRET,
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(answer.body).toMatchObject([
        { path: `/${VERSION}/me/messages`, pageId: PAGE_ID, tokenIn: 'body', status: 200 },
        { pageId: OTHER_PAGE_ID, status: 400, outcome: 'refused', error: { code: 100 } },
        { tokenIn: 'query', status: 200, recipient: { login_id: LOGIN } },
        { tokenIn: 'header', status: 200, messagingType: 'UPDATE' },
        { status: 400, error: { code: 190 } },
      ]);
    });

    it('answers health, resets everything and refuses unknown endpoints', async () => {
      // Arrange
      optin();
      await post(update());
      emulator.addFault({ kind: 'slow' });
      emulator.setFlaky({ rate: 0.5 });

      // Act
      const health = await call('/_emulator/health', { method: 'GET' });
      const reset = await call('/_emulator/reset', { method: 'POST' });
      const unknown = await call('/_emulator/nothing', { method: 'GET' });
      const wrongMethod = await call('/_emulator/state', { method: 'POST' });

      // Assert
      expect(health.body).toEqual({ ok: true });
      expect(reset.body).toEqual({ ok: true });
      expect(emulator.state()).toEqual({
        optins: [],
        locks: [],
        optouts: [],
        userMessages: [],
        psids: [],
        faults: [],
        flaky: null,
        permissions: [],
        restrictions: [],
        revokedTokens: [],
        usage: { pages: [] },
        subscriptions: [],
      });
      expect(emulator.messages()).toEqual([]);
      expect(emulator.requests()).toEqual([]);
      expect(unknown.status).toBe(404);
      expect(wrongMethod.status).toBe(405);
    });
  });

  describe("a Page's health: restrictions, usage headers, revoked tokens", () => {
    it('refuses every send of a restricted Page with 10/1893063, which pauses the Page', async () => {
      // Arrange
      optin();
      optin('login-other', OTHER_PAGE_ID);
      emulator.restrictPage({ pageId: PAGE_ID });

      // Act
      const restricted = await send(update());
      const otherPage = await send(update('login-other'), OTHER_PAGE_TOKEN);

      // Assert
      if (restricted.ok) throw new Error('expected a refusal');
      expect(restricted.failure).toMatchObject({ httpStatus: 400, code: 10, subcode: 1893063 });
      expect(classifySendFailure(restricted.failure)).toBe('page_restricted');
      expect(pageProblem(restricted.failure)).toBe('page_restricted');
      expect(otherPage.ok).toBe(true);
      expect(emulator.messages({ pageId: PAGE_ID })).toEqual([]);
      expect(emulator.state().restrictions).toEqual([{ pageId: PAGE_ID }]);
    });

    it('lifts a restriction when cleared, or at its end', async () => {
      // Arrange
      optin();
      optin('login-other');
      emulator.restrictPage({ pageId: PAGE_ID, untilMs: clock + 60_000 });

      // Act
      const during = await post(update());
      clock += 60_000;
      const after = await post(update());
      emulator.restrictPage({ pageId: PAGE_ID });
      const cleared = await call(`/_emulator/restrictions?pageId=${PAGE_ID}`, { method: 'DELETE' });
      const again = await post(update('login-other'));

      // Assert
      expect(during.status).toBe(400);
      expect(after.status).toBe(200);
      expect(cleared.body).toEqual({ cleared: 1 });
      expect(again.status).toBe(200);
    });

    it('sets restrictions through the control API, and clears them all', async () => {
      // Act
      const set = await call('/_emulator/restrictions', { json: { pageId: Number(PAGE_ID) } });
      const bad = await call('/_emulator/restrictions', { json: { page: PAGE_ID } });
      await call('/_emulator/restrictions', { json: { pageId: OTHER_PAGE_ID } });
      const cleared = await call('/_emulator/restrictions', { method: 'DELETE' });

      // Assert
      expect(set).toMatchObject({ status: 201, body: { pageId: PAGE_ID } });
      expect(bad.status).toBe(400);
      expect(cleared.body).toEqual({ cleared: 2 });
      expect(emulator.state().restrictions).toEqual([]);
    });

    it("answers Graph's usage headers, zeros by default, on successes and errors", async () => {
      // Arrange
      optin();

      // Act
      const answer = await post(update());
      const refused = await post(update('unknown-login'));

      // Assert
      for (const { headers } of [answer, refused]) {
        expect(JSON.parse(headers.get('x-app-usage') ?? '')).toEqual({
          call_count: 0,
          total_cputime: 0,
          total_time: 0,
        });
        expect(JSON.parse(headers.get('x-business-use-case-usage') ?? '')).toEqual({
          [PAGE_ID]: [
            {
              type: 'messenger',
              call_count: 0,
              total_cputime: 0,
              total_time: 0,
              estimated_time_to_regain_access: 0,
            },
          ],
        });
      }
    });

    it('answers the usage set through the control API, which our client reads', async () => {
      // Arrange
      optin();
      const set = await call('/_emulator/usage', {
        json: {
          pageId: PAGE_ID,
          app: { call_count: 42, total_cputime: 7, total_time: 9 },
          business: { type: 'messenger', call_count: 100, estimated_time_to_regain_access: 4 },
        },
      });
      emulator.addFault({ kind: 'page_rate_limit' });

      // Act
      const outcome = await send(update());

      // Assert
      expect(set.status).toBe(201);
      if (outcome.ok) throw new Error('expected the fault');
      expect(pageProblem(outcome.failure)).toBe('rate_limited');
      expect(outcome.usage).toEqual({
        app: { callCount: 42, totalCputime: 7, totalTime: 9 },
        business: {
          [PAGE_ID]: [{ type: 'messenger', callCount: 100, regainAccessMinutes: 4 }],
        },
      });
      expect(regainAccessMs(outcome.usage, PAGE_ID)).toBe(4 * 60_000);
      expect((await call('/_emulator/usage', { method: 'DELETE' })).body).toEqual({ cleared: 2 });
      expect(emulator.state().usage).toEqual({ pages: [] });
    });

    it('refuses a business entry without its Page', async () => {
      // Act
      const answer = await call('/_emulator/usage', { json: { business: { call_count: 1 } } });

      // Assert
      expect(answer.status).toBe(400);
      expect(answer.body.error?.message).toContain('business needs pageId');
    });

    it("revokes the Page's current token (190/460 on every call) until the secret holds a new one", async () => {
      // Arrange: an emulator whose secret the test can change, as an operator edits the file.
      let current = secrets;
      const own = await GraphEmulator.start({ secrets: () => current, now: () => clock });
      const ownSend = (token: string) =>
        sendApiClient({ baseUrl: own.url, version: VERSION, timeoutMs: 2000 })({
          accessToken: token,
          appSecret: APP_SECRET,
          body: update(),
        });
      try {
        own.registerOptin({ loginId: LOGIN, pageId: PAGE_ID, timestamp: clock - HOUR_MS });
        const revoked = await fetch(`${own.url}/_emulator/revoked-tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pageId: PAGE_ID }),
        });

        // Act
        const refused = await ownSend(PAGE_TOKEN);
        const listed = await subscribedAppsClient({
          baseUrl: own.url,
          version: VERSION,
          timeoutMs: 2000,
        }).list(PAGE_ID, PAGE_TOKEN, APP_SECRET);
        current = parseAppSecrets(
          secretDocument({ pages: { [PAGE_ID]: { accessToken: 'EAAB-new-token' } } }),
          'rotated',
        );
        const withNew = await ownSend('EAAB-new-token');

        // Assert
        expect(revoked.status).toBe(201);
        if (refused.ok) throw new Error('expected 190');
        expect(refused.failure).toMatchObject({ code: 190, subcode: 460 });
        expect(classifySendFailure(refused.failure)).toBe('token_invalid');
        expect(listed).toMatchObject({ ok: false, failure: { code: 190 } });
        expect(withNew.ok).toBe(true);
        expect(own.state().revokedTokens).toEqual([{ pageId: PAGE_ID, count: 1 }]);
        expect(JSON.stringify(own.state())).not.toContain(PAGE_TOKEN);
      } finally {
        await own.close();
      }
    });

    it('refuses to revoke the token of a Page the secret does not have', async () => {
      // Act
      const answer = await call('/_emulator/revoked-tokens', { json: { pageId: '999' } });

      // Assert
      expect(answer.status).toBe(400);
    });
  });

  describe('GET/POST /{version}/{page-id}/subscribed_apps', () => {
    const subscriptions = () =>
      subscribedAppsClient({ baseUrl: emulator.url, version: VERSION, timeoutMs: 2000 });

    it('lists our app subscribed with the fields we need, by default, to the token in a header', async () => {
      // Act
      const listed = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);

      // Assert
      expect(listed).toEqual({
        ok: true,
        apps: [
          {
            id: '3000000000000003',
            name: 'Login Connect (emulated app)',
            fields: [...REQUIRED_PAGE_FIELDS],
          },
        ],
      });
      const [request] = emulator.requests();
      expect(request).toMatchObject({
        method: 'GET',
        path: `/${VERSION}/${PAGE_ID}/subscribed_apps`,
        pageId: PAGE_ID,
        tokenIn: 'header',
        status: 200,
        outcome: 'accepted',
      });
    });

    it('lists nothing once Facebook dropped the subscription, until the app subscribes again', async () => {
      // Arrange
      const dropped = await call('/_emulator/subscriptions/drop', { json: { pageId: PAGE_ID } });

      // Act
      const before = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);
      const subscribed = await subscriptions().subscribe(
        PAGE_ID,
        ['messages', 'messaging_optins'],
        PAGE_TOKEN,
        APP_SECRET,
      );
      const after = await subscriptions().list(PAGE_ID, PAGE_TOKEN, APP_SECRET);

      // Assert
      expect(dropped.body).toEqual({ pageId: PAGE_ID, fields: [], refuseSubscribe: false });
      expect(before).toEqual({ ok: true, apps: [] });
      expect(subscribed).toEqual({ ok: true });
      expect(after).toMatchObject({
        ok: true,
        apps: [{ fields: ['messages', 'messaging_optins'] }],
      });
      expect(emulator.requests()[1]).toMatchObject({ method: 'POST', tokenIn: 'body' });
      expect(JSON.stringify(emulator.requests())).not.toContain(PAGE_TOKEN);
    });

    it('refuses to subscribe a Page whose token may not (403, code 200)', async () => {
      // Arrange
      emulator.dropSubscription({ pageId: PAGE_ID, refuseSubscribe: true });

      // Act
      const subscribed = await subscriptions().subscribe(
        PAGE_ID,
        ['messaging_optins'],
        PAGE_TOKEN,
        APP_SECRET,
      );

      // Assert
      expect(subscribed).toMatchObject({
        ok: false,
        failure: { httpStatus: 403, code: 200, message: '(#200) Permissions error' },
      });
      expect(emulator.subscription(PAGE_ID).fields).toEqual([]);
    });

    it('takes subscribed_fields from the query as a list, and refuses unknown or missing fields', async () => {
      // Act
      const path = `/${VERSION}/${PAGE_ID}/subscribed_apps?appsecret_proof=${proofOf(PAGE_TOKEN)}`;
      const ok = await call(`${path}&subscribed_fields=messages,%20feed`, {
        json: { access_token: PAGE_TOKEN },
      });
      const unknown = await call(`${path}&subscribed_fields=messages,nope`, {
        json: { access_token: PAGE_TOKEN },
      });
      const missing = await call(path, { json: { access_token: PAGE_TOKEN } });
      const asJson = await call(path, {
        json: { access_token: PAGE_TOKEN, subscribed_fields: ['message_reads'] },
      });

      // Assert
      expect(ok.body).toEqual({ success: true });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error?.message).toMatch(/^\(#100\) Param subscribed_fields\[1\]/);
      expect(missing.body.error?.message).toBe(
        '(#100) The parameter subscribed_fields is required',
      );
      expect(asJson.body).toEqual({ success: true });
      expect(emulator.subscription(PAGE_ID).fields).toEqual(['message_reads']);
    });

    it("checks credentials as for sends: the Page's own token, and the proof", async () => {
      // Act
      const base = `/${VERSION}/${PAGE_ID}/subscribed_apps`;
      const auth = { authorization: `Bearer ${PAGE_TOKEN}` };
      const noProof = await call(base, { method: 'GET', headers: auth });
      const badProof = await call(`${base}?appsecret_proof=00`, { method: 'GET', headers: auth });
      const noToken = await call(`${base}?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        method: 'GET',
      });
      const otherPage = await subscriptions().list(OTHER_PAGE_ID, PAGE_TOKEN, APP_SECRET);
      const unknownToken = await subscriptions().list(PAGE_ID, 'EAAB-unknown', APP_SECRET);
      const deleted = await call(`${base}?appsecret_proof=${proofOf(PAGE_TOKEN)}`, {
        method: 'DELETE',
        headers: auth,
      });

      // Assert
      expect(noProof.body.error?.message).toContain('require an appsecret_proof');
      expect(badProof.body.error?.message).toContain('Invalid appsecret_proof');
      expect(noToken.body.error?.code).toBe(104);
      expect(otherPage).toMatchObject({ ok: false, failure: { code: 100, subcode: 33 } });
      expect(unknownToken).toMatchObject({ ok: false, failure: { code: 190 } });
      expect(deleted.body.error).toMatchObject({ code: 100, error_subcode: 33 });
    });

    it('answers usage headers on subscription calls too', async () => {
      // Act
      const answer = await call(
        `/${VERSION}/${PAGE_ID}/subscribed_apps?appsecret_proof=${proofOf(PAGE_TOKEN)}`,
        { method: 'GET', headers: { authorization: `Bearer ${PAGE_TOKEN}` } },
      );

      // Assert
      expect(answer.headers.get('x-business-use-case-usage')).toContain(PAGE_ID);
    });

    it('sets a subscription through the control API, and shows it in the state', async () => {
      // Act
      const set = await call('/_emulator/subscriptions', {
        json: { pageId: PAGE_ID, fields: ['messages'], refuseSubscribe: true },
      });

      // Assert
      expect(set.status).toBe(201);
      expect(emulator.state().subscriptions).toEqual([
        { pageId: PAGE_ID, fields: ['messages'], refuseSubscribe: true },
      ]);
      expect(emulator.subscription(OTHER_PAGE_ID).fields).toEqual(REQUIRED_PAGE_FIELDS);
    });
  });

  describe('start()', () => {
    it('refuses to listen on a non-loopback address', async () => {
      // Act / Assert
      await expect(
        GraphEmulator.start({ host: '0.0.0.0', secrets: () => secrets }),
      ).rejects.toThrow(/only listens on loopback/);
    });
  });
});

describe('infra/local/graph-emulator-main', () => {
  it('serves on GRAPH_PORT, applies edits of LCM_SECRETS_FILE and stops on SIGTERM', async () => {
    // Arrange
    const file = writeSecretsFile(secretDocument());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../../../infra/local/graph-emulator-main.ts')],
      {
        cwd: join(__dirname, '../../..'),
        env: { ...process.env, GRAPH_PORT: '0', LCM_SECRETS_FILE: file },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const ready = /graph emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (ready?.[1]) resolve(ready[1]);
        });
        void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const rotated = 'EAAB-rotated-token';
      const sendWith = async (token: string) => {
        const response = await fetch(`${url}/v25.0/me/messages?appsecret_proof=${proofOf(token)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            recipient: { id: '1234567890123456' },
            messaging_type: 'RESPONSE',
            message: { text: 'hi' },
            access_token: token,
          }),
        });
        return response.status;
      };

      const registered = await fetch(`${url}/_emulator/user-messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ psid: '1234567890123456', pageId: PAGE_ID }),
      });
      expect(registered.status).toBe(201);

      // Act
      const before = await sendWith(PAGE_TOKEN);
      writeFileSync(
        file,
        JSON.stringify(secretDocument({ pages: { [PAGE_ID]: { accessToken: rotated } } })),
      );
      await sleep(1100);
      const withRotated = await sendWith(rotated);
      const withOld = await sendWith(PAGE_TOKEN);
      child.kill('SIGTERM');
      const code = await exited;

      // Assert
      expect(stdout.split('\n')[0]).toBe(`graph emulator listening on ${url}`);
      expect([before, withRotated, withOld]).toEqual([200, 200, 400]);
      expect(stdout).not.toContain(PAGE_TOKEN);
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
