import { randomBytes } from 'node:crypto';
import { signatureFor } from '../../shared/webhook/signature';
import { replyAndLink, scanTable } from '../helpers/e2e-person';
import {
  API_KEY,
  APP_SECRET,
  HOUR_MS,
  OTHER_PAGE_ID,
  PAGE_ID,
  PAGE_TOKEN,
} from '../helpers/factories';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * The whole pipeline as `npm start` runs it: DynamoDB Local, fauxqs, our Graph emulator, the real
 * webhook and sender handlers. Short timings so retries and lease expiry happen within seconds.
 */
const stack = useLocalStack({
  env: {
    SEND_RETRY_BASE_SECONDS: '1',
    // The poller times an invocation out after this, as Lambda does: room for a cold batch of 10
    // on a busy machine, yet a visibility timeout (6 ×) short enough for the crash test below.
    SENDER_TIMEOUT_SECONDS: '5',
    GRAPH_TIMEOUT_SECONDS: '3',
    // A rate limit or a 190 pauses the whole Page: keep its back-off short between the tests.
    PAGE_BACKOFF_BASE_SECONDS: '1',
    PAGE_BACKOFF_MAX_SECONDS: '2',
    PAGE_STATE_CACHE_SECONDS: '1',
  },
});

interface EmulatedMessage {
  pageId: string;
  recipient: { login_id?: string };
  messagingType: string;
  message: { text?: string };
}
interface EmulatedRequest {
  recipient?: { login_id?: string };
  status: number;
}

const newLoginId = () => randomBytes(32).toString('hex');
const optinItem = (loginId: string, pageId = PAGE_ID, timestamp = Date.now()) => ({
  recipient: { id: pageId },
  timestamp,
  optin: { login_id: loginId },
});
const body = (entries: Array<{ pageId: string; items: unknown[] }>) =>
  JSON.stringify({
    object: 'page',
    entry: entries.map((e) => ({ id: e.pageId, time: Date.now(), messaging: e.items })),
  });

async function optIn(loginId: string, pageId = PAGE_ID, timestamp = Date.now()) {
  await stack.emulator('optins', { loginId, pageId, timestamp });
  return optinItem(loginId, pageId, timestamp);
}
async function messagesTo(loginId: string) {
  const all = await stack.emulator<EmulatedMessage[]>('messages');
  return all.filter((m) => m.recipient.login_id === loginId);
}
async function requestsTo(loginId: string) {
  const all = await stack.emulator<EmulatedRequest[]>('requests');
  return all.filter((r) => r.recipient?.login_id === loginId);
}
const ended = (loginId: string, timeoutMs = 15_000) =>
  eventually(
    async () => {
      const record = await stack.optinRecord(loginId);
      return record &&
        ['sent', 'expired', 'opted_out', 'page_locked', 'failed'].includes(String(record.status))
        ? record
        : undefined;
    },
    timeoutMs,
    `login_id ${loginId.slice(0, 8)} to end`,
  );

describe('the local stack', () => {
  it('answers the verification handshake', async () => {
    const url = `${stack.info.webhookUrl}?hub.mode=subscribe&hub.verify_token=${stack.info.verifyToken}&hub.challenge=31337`;

    const response = await fetch(url);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('31337');
  });

  it('turns a signed opt-in into exactly one Send API call to recipient.login_id with that Page', async () => {
    const loginId = newLoginId();

    const response = await stack.postWebhook(
      body([{ pageId: PAGE_ID, items: [await optIn(loginId)] }]),
    );
    const record = await ended(loginId);

    expect(response.status).toBe(200);
    expect(record).toMatchObject({ status: 'sent', pageId: PAGE_ID, attempts: 1 });
    const messages = await messagesTo(loginId);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      pageId: PAGE_ID,
      messagingType: 'UPDATE',
      recipient: { login_id: loginId },
    });
    expect(record?.messageId).toBe((messages[0] as unknown as { messageId: string }).messageId);
  });

  it('sends one message when the same opt-in is delivered 5 times at once', async () => {
    const loginId = newLoginId();
    const raw = body([{ pageId: PAGE_ID, items: [await optIn(loginId)] }]);

    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => stack.postWebhook(raw).then((r) => r.status)),
    );
    await ended(loginId);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(await messagesTo(loginId)).toHaveLength(1);
  });

  it('sends one message per login_id for a 3-entry × 10-event batch across 2 Pages', async () => {
    const pages = [PAGE_ID, OTHER_PAGE_ID, PAGE_ID];
    const entries = await Promise.all(
      pages.map(async (pageId) => ({
        pageId,
        items: await Promise.all(Array.from({ length: 10 }, () => optIn(newLoginId(), pageId))),
      })),
    );

    expect((await stack.postWebhook(body(entries))).status).toBe(200);
    const loginIds = entries.flatMap((e) => e.items.map((i) => i.optin.login_id));
    await Promise.all(loginIds.map((id) => ended(id, 30_000)));

    const all = await stack.emulator<EmulatedMessage[]>('messages');
    for (const entry of entries) {
      for (const item of entry.items) {
        const sent = all.filter((m) => m.recipient.login_id === item.optin.login_id);
        expect(sent).toHaveLength(1);
        expect(sent[0]?.pageId).toBe(entry.pageId);
      }
    }
  });

  it.each([
    ['a missing signature', null],
    ['a wrong signature', `sha256=${'0'.repeat(64)}`],
    ['a signature made with another secret', 'other'],
  ])('refuses %s with 401 and queues nothing', async (_name, signature) => {
    const loginId = newLoginId();
    const raw = body([{ pageId: PAGE_ID, items: [await optIn(loginId)] }]);

    const response = await stack.postWebhook(
      raw,
      signature === 'other' ? signatureFor(raw, 'not-the-app-secret') : signature,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));

    expect(response.status).toBe(401);
    expect(await stack.optinRecord(loginId)).toBeUndefined();
    expect(await requestsTo(loginId)).toHaveLength(0);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    expect((await stack.postWebhook('{"object":"page","entry":[')).status).toBe(400);
  });

  it('sends nothing for an opt-in whose timestamp is 25 h old, and records it as rejected', async () => {
    const loginId = newLoginId();
    const old = Date.now() - 25 * HOUR_MS;

    const response = await stack.postWebhook(
      body([{ pageId: PAGE_ID, items: [await optIn(loginId, PAGE_ID, old)] }]),
    );
    const [rejected] = await eventually(
      async () => {
        const items = await stack.rejectedOptins(loginId);
        return items.length > 0 ? items : undefined;
      },
      15_000,
      'the rejected opt-in',
    );

    expect(response.status).toBe(200);
    expect(rejected).toMatchObject({
      status: 'rejected',
      statusReason: 'timestamp: is older than the 24 h window (or is not in milliseconds)',
    });
    expect(await stack.optinRecord(loginId)).toBeUndefined();
    expect(await requestsTo(loginId)).toHaveLength(0);
  });

  it('retries a Graph 500 and sends one message', async () => {
    const loginId = newLoginId();
    const item = await optIn(loginId);
    await stack.emulator('faults', { loginId, kind: 'server_error' });

    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));
    const record = await ended(loginId);

    expect(record).toMatchObject({
      status: 'sent',
      attempts: 2,
      errors: [{ httpStatus: 500, kind: 'transient' }],
    });
    expect(await messagesTo(loginId)).toHaveLength(1);
    expect(await requestsTo(loginId)).toHaveLength(2);
  });

  it('retries a rate limit (613)', async () => {
    const loginId = newLoginId();
    const item = await optIn(loginId);
    await stack.emulator('faults', { loginId, kind: 'rate_limit', times: 2 });

    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));
    const record = await ended(loginId);

    expect(record).toMatchObject({ status: 'sent', attempts: 3, lastError: { code: 613 } });
    expect(await messagesTo(loginId)).toHaveLength(1);
  });

  it('ends as opted_out on 551 without a retry storm', async () => {
    const loginId = newLoginId();
    const item = await optIn(loginId);
    await stack.emulator('optouts', { loginId });

    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));
    const record = await ended(loginId);
    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));
    await new Promise((resolve) => setTimeout(resolve, 2500));

    expect(record).toMatchObject({ status: 'opted_out', lastError: { code: 551 } });
    expect(await requestsTo(loginId)).toHaveLength(1);
  });

  it('ends as expired when Facebook says the window closed (10/2018278)', async () => {
    const loginId = newLoginId();
    const item = await optIn(loginId);
    await stack.emulator('faults', { loginId, kind: 'window_closed' });

    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));

    expect(await ended(loginId)).toMatchObject({
      status: 'expired',
      statusReason: 'send_api_window_closed',
      lastError: { code: 10, subcode: 2018278 },
    });
  });

  it('fails an opt-in for a Page with no token, with the reason, and still answers 200', async () => {
    const loginId = newLoginId();

    const response = await stack.postWebhook(
      body([{ pageId: '9999999999', items: [optinItem(loginId, '9999999999')] }]),
    );

    expect(response.status).toBe(200);
    expect(await ended(loginId)).toMatchObject({
      status: 'failed',
      statusReason: 'page_not_configured',
    });
  });

  it('never stores, returns or logs a token Graph echoes in an error message', async () => {
    const secrets = [PAGE_TOKEN, APP_SECRET];
    // The startup banner shows the local App Secret on purpose (to sign test webhooks): only
    // what the handlers log from here on counts.
    const logsFrom = stack.output().length;
    const echo = `Malformed access token ${PAGE_TOKEN}. Proof made with ${APP_SECRET}; app token 123456789|${APP_SECRET}`;
    // A first message refused with the tokens in Graph's message (190: the token is invalid; the
    // Page pauses, and the opt-in is sent by the probe once the back-off passed).
    const failedLoginId = newLoginId();
    const failedItem = await optIn(failedLoginId);
    await stack.emulator('faults', {
      loginId: failedLoginId,
      status: 400,
      error: { code: 190, subcode: 460, message: echo },
    });
    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [failedItem] }]));
    const failed = await ended(failedLoginId);
    // A follow-up refused the same way, read back through GET /messages/{id}.
    const loginId = newLoginId();
    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [await optIn(loginId)] }]));
    await ended(loginId);
    // Follow-ups go only to someone who wrote: the person replies first (which links the PSID).
    const [first] = await stack.emulator<Array<{ recipientId: string }>>(
      `messages?loginId=${loginId}`,
    );
    const psid = first?.recipientId as string;
    await replyAndLink(stack, { loginId, psid, text: 'Hi' });
    await stack.emulator('faults', {
      pageId: PAGE_ID,
      status: 400,
      error: { code: 100, message: echo },
    });
    const api = (method: string, path: string, payload?: unknown) =>
      fetch(`${stack.info.apiUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      }).then((r) => r.text());
    const { id } = JSON.parse(
      await api('POST', '/messages', { to: { loginId }, message: { text: 'Your order shipped.' } }),
    ) as { id: string };
    const answer = await eventually(
      async () => {
        const text = await api('GET', `/messages/${id}`);
        return (JSON.parse(text) as { status?: string }).status === 'failed' ? text : undefined;
      },
      15_000,
      'the follow-up to fail',
    );
    const table = JSON.stringify(await scanTable(stack));

    expect(failed).toMatchObject({
      status: 'sent',
      errors: [
        {
          code: 190,
          message:
            'Malformed access token [redacted]. Proof made with [redacted]; app token 123456789|[redacted]',
        },
      ],
    });
    expect(JSON.parse(answer)).toMatchObject({ lastError: { code: 100 } });
    for (const secret of secrets) {
      expect(table).not.toContain(secret);
      expect(answer).not.toContain(secret);
      expect(stack.output().slice(logsFrom)).not.toContain(secret);
    }
  });

  it('loses nothing when the sender dies mid-send: the opt-in is sent once after restart', async () => {
    const loginId = newLoginId();
    const item = await optIn(loginId);
    await stack.emulator('faults', { loginId, kind: 'slow', delayMs: 20_000 });
    const pid = stack.pollerPid();

    await stack.postWebhook(body([{ pageId: PAGE_ID, items: [item] }]));
    await eventually(
      async () => ((await stack.optinRecord(loginId))?.status === 'sending' ? true : undefined),
      10_000,
      'the claim',
    );
    process.kill(pid, 'SIGKILL');
    const record = await ended(loginId, 40_000);

    expect(stack.pollerPid()).not.toBe(pid);
    expect(record).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await messagesTo(loginId)).toHaveLength(1);
  }, 60_000);
});
