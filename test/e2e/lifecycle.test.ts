import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../shared/store/table-definition';
import { PAGE_ID, secretDocument } from '../helpers/factories';
import {
  emulator,
  eventually,
  optinRecord,
  postWebhook,
  type RunningStack,
  startStack,
} from '../helpers/local-stack';
import { writeSecretsFile } from '../helpers/secrets-file';

/** A person's life after the opt-in, through the local stack: receipts, the link, opt-outs. */
let stack: RunningStack;

const newId = () => randomBytes(16).toString('hex');
const webhook = (items: unknown[]) =>
  JSON.stringify({ object: 'page', entry: [{ id: PAGE_ID, time: Date.now(), messaging: items }] });
const item = async (key: { pk: string; sk: string }) =>
  (
    await stack.doc.send(
      new GetCommand({ TableName: stack.info.tableName, Key: key, ConsistentRead: true }),
    )
  ).Item;
const until = <T>(check: () => Promise<T | undefined>, what: string) =>
  eventually(check, 15_000, what);

async function sentFirstMessage(loginId: string): Promise<{ mid: string; psid: string }> {
  await emulator(stack, 'optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
  await postWebhook(
    stack,
    webhook([{ recipient: { id: PAGE_ID }, timestamp: Date.now(), optin: { login_id: loginId } }]),
  );
  await until(
    async () => ((await optinRecord(stack, loginId))?.status === 'sent' ? true : undefined),
    'the first message',
  );
  const [message] = await emulator<Array<{ messageId: string; recipientId: string }>>(
    stack,
    `messages?loginId=${loginId}`,
  );
  if (!message) throw new Error('no message at the emulator');
  return { mid: message.messageId, psid: message.recipientId };
}

beforeAll(async () => {
  stack = await startStack({
    LCM_SECRETS_FILE: writeSecretsFile(secretDocument()),
    SEND_RETRY_BASE_SECONDS: '1',
  });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

describe('after the opt-in', () => {
  it('follows receipts, links the PSID on the reply, and honours STOP then RESUME', async () => {
    const loginId = newId();
    const { mid, psid } = await sentFirstMessage(loginId);

    await postWebhook(
      stack,
      webhook([
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
          (await optinRecord(stack, loginId))?.receipt === 'delivered' ? true : undefined,
        'delivered',
      ),
    ).toBe(true);

    const replyAt = Date.now();
    await postWebhook(
      stack,
      webhook([
        {
          sender: { id: psid },
          recipient: { id: PAGE_ID },
          timestamp: replyAt,
          message: { mid: `m_${newId()}`, text: 'Thanks!' },
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

    await postWebhook(
      stack,
      webhook([
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
        async () => ((await optinRecord(stack, loginId))?.receipt === 'read' ? true : undefined),
        'read',
      ),
    ).toBe(true);

    const stop = {
      sender: { id: psid },
      recipient: { id: PAGE_ID },
      timestamp: Date.now(),
      optin: { type: 'notification_messages', notification_messages_status: 'STOP NOTIFICATIONS' },
    };
    await postWebhook(stack, webhook([stop]));
    const suppression = await until(
      () => item(keys.suppression({ kind: 'login', id: loginId })),
      'the STOP',
    );
    expect(suppression).toMatchObject({ source: 'stop' });
    expect(await item(keys.suppression({ kind: 'psid', id: psid }))).toMatchObject({
      source: 'stop',
    });

    await postWebhook(
      stack,
      webhook([{ ...stop, optin: { notification_messages_status: 'RESUME_NOTIFICATIONS' } }]),
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

    await emulator(stack, 'optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });
    await postWebhook(
      stack,
      webhook([
        { recipient: { id: PAGE_ID }, timestamp: Date.now(), optin: { login_id: loginId } },
      ]),
    );
    const record = await until(async () => {
      const found = await optinRecord(stack, loginId);
      return found?.status === 'opted_out' ? found : undefined;
    }, 'opted_out');

    expect(record).toMatchObject({ statusReason: 'suppressed:asked by email' });
    expect(await emulator(stack, `messages?loginId=${loginId}`)).toEqual([]);
  });

  it('answers 401 on the API without a key', async () => {
    const response = await fetch(`${stack.info.apiUrl}/optouts`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(401);
  });
});
