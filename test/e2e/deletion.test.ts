import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { signRequest } from '../../shared/facebook/signed-request';
import { loginIdFor } from '../../shared/login-connect/login-id';
import {
  callApi,
  optinItem,
  optinWithStatus,
  pageWebhook,
  replyAndLink,
  scanTable,
} from '../helpers/e2e-person';
import { APP_SECRET, optinJob, PAGE_ID, secretDocument, uniqueId } from '../helpers/factories';
import { runLcmJson } from '../helpers/lcm-cli';
import { eventually, useLocalStack } from '../helpers/local-stack';

/**
 * Deleted means deleted, on the running local stack, in the two-app setup (the Login app signs
 * the data deletion callback with its own secret): a person who opted in through the webhook
 * alone, got the first message, replied, got a follow-up and its receipt, is deleted from their
 * ASID; afterwards no item names them, and work that predates the deletion (a redelivered
 * opt-in, a queued retry, a redriven dead letter) sends nothing and re-creates nothing.
 */
const LOGIN_APP = {
  appId: '5550000000000002',
  clientToken: 'client-token-for-deletion-e2e',
  appSecret: 'login-app-secret-for-deletion-e2e',
};
const stack = useLocalStack({
  secret: secretDocument({ loginApp: LOGIN_APP }),
  env: { SEND_RETRY_BASE_SECONDS: '1' },
});

const until = <T>(check: () => Promise<T | undefined>, what: string) =>
  eventually(check, 20_000, what);

const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
  callApi(stack, method, path, body);

async function deletionRequest(userId: string, secret: string) {
  const signed = signRequest(
    { algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: userId },
    secret,
  );
  return fetch(`${stack.info.apiUrl}/facebook/data-deletion`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `signed_request=${encodeURIComponent(signed)}`,
  });
}

const scan = () => scanTable(stack);

/** Runs the real CLI with `--local --json` against this test's stack. */
const lcmJson = (...args: string[]) => runLcmJson(stack, ...args);

describe('data deletion on the local stack (two-app setup)', () => {
  it('erases everything that names a webhook-only person, and nothing that predates it brings them back', async () => {
    // Arrange: the person's whole life, through the webhook alone.
    const asid = uniqueId('1');
    const loginId = loginIdFor({ asid, ...LOGIN_APP, pageId: PAGE_ID });
    const optinAt = Date.now();
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: optinAt });
    const optinBody = pageWebhook([optinItem(loginId, optinAt)]);
    await stack.postWebhook(optinBody);
    await optinWithStatus(stack, loginId, 'sent', 20_000);
    const [first] = await stack.emulator<Array<{ recipientId: string }>>(
      `messages?loginId=${loginId}`,
    );
    const psid = first?.recipientId as string;
    await replyAndLink(stack, { loginId, psid }, 20_000);
    const accepted = await api('POST', '/messages', { to: { loginId }, message: { text: 'x' } });
    expect(accepted.status).toBe(202);
    await until(async () => {
      const found = await api('GET', `/messages/${accepted.body.id}`);
      return found.body.status === 'sent' ? found : undefined;
    }, 'the follow-up');
    const [followup] = await stack.emulator<Array<{ messageId: string }>>(`messages?psid=${psid}`);
    await stack.postWebhook(
      pageWebhook([
        {
          sender: { id: psid },
          recipient: { id: PAGE_ID },
          delivery: { mids: [followup?.messageId], watermark: Date.now() },
        },
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const mentionsBefore = (await scan()).filter((i) => JSON.stringify(i).includes(loginId));
    // A retry of the opt-in, queued before the deletion and due after it.
    const staleJob = JSON.stringify(optinJob({ loginId, optinAt, receivedAt: optinAt }));
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.info.queueUrl,
        MessageBody: staleJob,
        DelaySeconds: 2,
      }),
    );
    await stack.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.info.deadLetterQueueUrl, MessageBody: staleJob }),
    );
    const sendsBefore = (await stack.emulator<unknown[]>('requests')).length;

    // Act: Facebook's callback, signed with the Login app's secret; then the stale work arrives
    // (and an operator redrives the dead letters: `lcm redrive` skips the deleted person's).
    const refused = await deletionRequest(asid, APP_SECRET);
    const response = await deletionRequest(asid, LOGIN_APP.appSecret);
    const body = (await response.json()) as { url: string };
    const status = (await (await fetch(body.url)).json()) as Record<string, unknown>;
    await stack.postWebhook(optinBody);
    const redriven = await lcmJson('redrive');
    await new Promise((resolve) => setTimeout(resolve, 4000));

    // Assert
    expect(mentionsBefore.length).toBeGreaterThan(5);
    expect(refused.status).toBe(400);
    expect(redriven).toMatchObject({ skipped: 1, count: 0 });
    expect(response.status).toBe(200);
    expect(status).toMatchObject({
      status: 'completed',
      deleted: expect.objectContaining({ optin: 1, lock: 1, message: 1 }),
    });
    const mentions = (await scan()).filter((i) =>
      [loginId, psid, asid].some((id) => JSON.stringify(i).includes(id)),
    );
    expect(mentions).toEqual([]);
    expect((await stack.emulator<unknown[]>('requests')).length).toBe(sendsBefore);
  }, 90_000);

  it('blocks, after an opt-out by ASID, a webhook opt-in for the login_id derived for the Page', async () => {
    const asid = uniqueId('1');
    const loginId = loginIdFor({ asid, ...LOGIN_APP, pageId: PAGE_ID });
    await stack.emulator('optins', { loginId, pageId: PAGE_ID, timestamp: Date.now() });

    const optout = await api('POST', '/optouts', { asid });
    await stack.postWebhook(pageWebhook([optinItem(loginId)]));
    const record = await optinWithStatus(stack, loginId, 'opted_out', 20_000);

    expect(optout.status).toBe(200);
    expect(record.statusReason).toMatch(/^suppressed:/);
    expect(await stack.emulator(`messages?loginId=${loginId}`)).toHaveLength(0);
  });
});
