import { randomBytes } from 'node:crypto';
import { signRequest } from '../../shared/facebook/signed-request';
import { loginIdFor } from '../../shared/login-connect/login-id';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { keys } from '../../shared/store/table-definition';
import {
  callApi,
  optinItem,
  optinWithStatus,
  pageWebhook,
  replyAndLink,
  sendFirstMessage,
  tableItem,
} from '../helpers/e2e-person';
import { APP_SECRET, PAGE_ID, secretDocument, uniqueId } from '../helpers/factories';
import { eventually, useLocalStack } from '../helpers/local-stack';

/** A person's life after the opt-in, through the local stack: receipts, the link, opt-outs. */
const LOGIN_APP = { appId: '5550000000000001', clientToken: 'client-token-for-e2e' };
const stack = useLocalStack({
  secret: secretDocument({ loginApp: LOGIN_APP }),
  env: {
    SEND_RETRY_BASE_SECONDS: '1',
    SWEEP_INTERVAL_SECONDS: '1',
    SWEEP_GRACE_SECONDS: '2',
    // A short lease, so an abandoned attempt's lease and hand-over grace pass within seconds.
    SENDER_TIMEOUT_SECONDS: '2',
    GRAPH_TIMEOUT_SECONDS: '1',
  },
});

const newId = () => randomBytes(16).toString('hex');
const item = (key: { pk: string; sk: string }) => tableItem(stack, key);
const until = <T>(check: () => Promise<T | undefined>, what: string) =>
  eventually(check, 15_000, what);

const sentFirstMessage = (loginId: string) => sendFirstMessage(stack, loginId);
const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  callApi(stack, method, path, body);

/** The person logs in with Facebook Login for the first time (a new grant) on the Login app. */
async function loginEvent(asid: string) {
  const loginId = loginIdFor({ asid, ...LOGIN_APP, pageId: PAGE_ID });
  await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
  const response = await api('POST', '/logins', {
    asid,
    pageId: PAGE_ID,
    userAccessToken: 'EAAU-user-token',
    newGrant: true,
  });
  return { loginId, response };
}

describe('after the opt-in', () => {
  it('follows receipts, links the PSID on the reply, and honours STOP then RESUME', async () => {
    const loginId = newId();
    const { mid, psid } = await sentFirstMessage(loginId);

    await stack.postWebhook(
      pageWebhook([
        {
          sender: { id: psid },
          recipient: { id: PAGE_ID },
          delivery: { mids: [mid], watermark: Date.now() },
        },
      ]),
    );
    expect(
      await until(
        async () =>
          (await stack.optinRecord(loginId))?.receipt === 'delivered' ? true : undefined,
        'delivered',
      ),
    ).toBe(true);

    const replyAt = Date.now();
    await stack.postWebhook(
      pageWebhook([
        {
          sender: { id: psid },
          recipient: { id: PAGE_ID },
          timestamp: replyAt,
          message: { mid: `m_${newId()}`, text: 'Thanks! 😀 Grüße' },
          prior_message: { source: 'fb_login', identifier: loginId },
        },
      ]),
    );
    const profile = await until(async () => {
      const found = await item(keys.profile(psid));
      return found?.loginId ? found : undefined;
    }, 'the link');
    expect(profile).toMatchObject({
      loginId,
      pageId: PAGE_ID,
      lastUserMessageAt: new Date(replyAt).toISOString(),
    });
    expect(
      await item(keys.link({ kind: 'login', id: loginId }, { kind: 'psid', id: psid })),
    ).toBeDefined();

    await stack.postWebhook(
      pageWebhook([
        {
          sender: { id: psid },
          recipient: { id: PAGE_ID },
          timestamp: Date.now(),
          read: { watermark: Date.now() },
        },
      ]),
    );
    expect(
      await until(
        async () => ((await stack.optinRecord(loginId))?.receipt === 'read' ? true : undefined),
        'read',
      ),
    ).toBe(true);

    const stop = {
      sender: { id: psid },
      recipient: { id: PAGE_ID },
      timestamp: Date.now(),
      optin: { type: 'notification_messages', notification_messages_status: 'STOP NOTIFICATIONS' },
    };
    await stack.postWebhook(pageWebhook([stop]));
    const suppression = await until(
      () => item(keys.suppression({ kind: 'login', id: loginId })),
      'the STOP',
    );
    expect(suppression).toMatchObject({ source: 'stop' });
    expect(await item(keys.suppression({ kind: 'psid', id: psid }))).toMatchObject({
      source: 'stop',
    });

    await stack.postWebhook(
      pageWebhook([{ ...stop, optin: { notification_messages_status: 'RESUME_NOTIFICATIONS' } }]),
    );
    await until(
      async () =>
        (await item(keys.suppression({ kind: 'psid', id: psid }))) === undefined ? true : undefined,
      'the RESUME',
    );
    expect(await item(keys.suppression({ kind: 'login', id: loginId }))).toBeUndefined();
  });

  it('refuses a first message to someone who opted out through the API', async () => {
    const loginId = newId();
    const response = await fetch(`${stack.info.apiUrl}/optouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.info.apiKey}` },
      body: JSON.stringify({ loginId, reason: 'asked by email' }),
    });
    expect(response.status).toBe(200);

    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
    await stack.postWebhook(pageWebhook([optinItem(loginId)]));
    const record = await optinWithStatus(stack, loginId, 'opted_out');

    expect(record).toMatchObject({ statusReason: 'suppressed:asked by email' });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toEqual([]);
  });

  it('answers 401 on the API without a key', async () => {
    const response = await fetch(`${stack.info.apiUrl}/optouts`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(401);
  });

  it('refuses HUMAN_AGENT when the stack does not say the app has the feature (the default)', async () => {
    const loginId = newId();
    const { psid } = await sentFirstMessage(loginId);
    const wroteAt = Date.now() - 2 * 24 * 3_600_000;
    await replyAndLink(stack, { loginId, psid, at: wroteAt, text: 'Hello?' });

    const response = await api('POST', '/messages', {
      to: { loginId },
      message: { text: 'Hi, this is Sam.' },
      tag: 'HUMAN_AGENT',
    });

    expect(response).toMatchObject({ status: 409, body: { error: 'human_agent_not_enabled' } });
    expect(await stack.emulator(`messages?psid=${psid}`)).toHaveLength(0);
  });

  it('sends the first message on a login event, and no second one when the webhook follows', async () => {
    const { loginId, response } = await loginEvent(uniqueId('1'));
    await optinWithStatus(stack, loginId, 'sent');
    await stack.postWebhook(pageWebhook([optinItem(loginId)]));
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(response).toMatchObject({ status: 202, body: { loginId, status: 'queued' } });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toHaveLength(1);
  });

  it('sends a follow-up to the PSID after the person replied, and reports it sent', async () => {
    const loginId = newId();
    const { psid } = await sentFirstMessage(loginId);
    const replyAt = Date.now();
    await replyAndLink(stack, { loginId, psid, at: replyAt });

    const accepted = await api('POST', '/messages', {
      to: { loginId },
      message: { text: 'Your order shipped.' },
    });
    const status = await until(async () => {
      const found = await api('GET', `/messages/${accepted.body.id}`);
      return found.body.status === 'sent' ? found : undefined;
    }, 'the follow-up');

    expect(accepted.status).toBe(202);
    expect(status.body).toMatchObject({ status: 'sent', pageId: PAGE_ID, messagingType: 'UPDATE' });
    expect(await stack.emulator(`messages?psid=${psid}`)).toMatchObject([
      { recipient: { id: psid }, message: { text: 'Your order shipped.' } },
    ]);
  });

  it("deletes a person on Facebook's data deletion callback and shows the status", async () => {
    const asid = uniqueId('1');
    const { loginId } = await loginEvent(asid);
    await optinWithStatus(stack, loginId, 'sent');

    const signed = signRequest(
      { algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: asid },
      APP_SECRET,
    );
    const response = await fetch(`${stack.info.apiUrl}/facebook/data-deletion`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `signed_request=${encodeURIComponent(signed)}`,
    });
    const body = (await response.json()) as { url: string; confirmation_code: string };
    const status = await (await fetch(body.url)).json();

    expect(response.status).toBe(200);
    expect(status).toMatchObject({
      confirmation_code: body.confirmation_code,
      status: 'completed',
    });
    expect(await stack.optinRecord(loginId)).toBeUndefined();
  });
});

describe('the sweeper', () => {
  /** An opt-in a worker claimed and then died on, whose queue message is gone too. */
  async function abandon(loginId: string, optinAtMs: number) {
    const store = new DynamoDbOptinStore(stack.doc, stack.info.tableName, {
      optinDays: 30,
      lockDays: 365,
      suppressionDays: 730,
      eventDays: 7,
    });
    await store.claim(
      { loginId, pageId: PAGE_ID, optinAtMs, receivedAtMs: optinAtMs, source: 'webhook' },
      Date.now(),
      1,
    );
  }

  it('sends a lost opt-in in time, once', async () => {
    const loginId = newId();
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });

    await abandon(loginId, Date.now());
    // Taken over once the dead attempt's lease and its hand-over grace (7 s here) have passed.
    const record = await optinWithStatus(stack, loginId, 'sent', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));

    expect(record).toMatchObject({ attempts: 2 });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toHaveLength(1);
  });

  it('ends an opt-in whose window passed while nothing worked on it as expired', async () => {
    const loginId = newId();

    await abandon(loginId, Date.now() - 24 * 3_600_000 + 1500);
    const record = await until(async () => {
      const found = await stack.optinRecord(loginId);
      return found?.status === 'expired' ? found : undefined;
    }, 'expired');

    expect(record).toMatchObject({ statusReason: 'window_closed_unattended' });
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toEqual([]);
  });
});
