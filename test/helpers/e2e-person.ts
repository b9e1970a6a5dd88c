/**
 * A person's steps through the running local stack, as the end-to-end tests take them: the
 * webhook bodies Facebook would send, the opt-in up to the first message, the reply that links
 * the PSID, the operators' API, and reads of the table.
 */
import { randomBytes } from 'node:crypto';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../shared/store/table-definition';
import { PAGE_ID } from './factories';
import { emulator, eventually, optinRecord, postWebhook, type RunningStack } from './local-stack';

/** A Page webhook body carrying these `messaging` items. */
export const pageWebhook = (items: unknown[], pageId = PAGE_ID) =>
  JSON.stringify({ object: 'page', entry: [{ id: pageId, time: Date.now(), messaging: items }] });

/** The `messaging_optins` item of a login_id. */
export const optinItem = (loginId: string, timestamp = Date.now(), pageId = PAGE_ID) => ({
  recipient: { id: pageId },
  timestamp,
  optin: { login_id: loginId },
});

/** The person's first message to the Page after the opt-in, naming the login_id it came from. */
export const replyItem = (reply: { loginId: string; psid: string; at: number; text: string }) => ({
  sender: { id: reply.psid },
  recipient: { id: PAGE_ID },
  timestamp: reply.at,
  message: { mid: `m_${randomBytes(16).toString('hex')}`, text: reply.text },
  prior_message: { source: 'fb_login', identifier: reply.loginId },
});

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { id?: string };
}

/** Calls the stack's operators' API with its key. */
export async function callApi(
  stack: RunningStack,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<ApiAnswer> {
  const response = await fetch(`${stack.info.apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.info.apiKey}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as ApiAnswer['body'] };
}

/** Waits until the login_id's opt-in record has this status; answers the record. */
export const optinWithStatus = (
  stack: RunningStack,
  loginId: string,
  status: string,
  timeoutMs = 15_000,
) =>
  eventually(
    async () => {
      const record = await optinRecord(stack, loginId);
      return record?.status === status ? record : undefined;
    },
    timeoutMs,
    `${loginId.slice(0, 8)} ${status}`,
  );

/**
 * The opt-in, as Facebook and the emulator see it, up to the first message: the emulator
 * registers it, the webhook brings it, and the stack sends. Answers the first message's id and
 * the PSID Graph answered for it.
 */
export async function sendFirstMessage(
  stack: RunningStack,
  loginId: string,
  timeoutMs = 15_000,
): Promise<{ mid: string; psid: string }> {
  const at = Date.now();
  await emulator(stack, 'optins', { loginId, pageId: PAGE_ID, timestamp: at });
  await postWebhook(stack, pageWebhook([optinItem(loginId, at)]));
  await optinWithStatus(stack, loginId, 'sent', timeoutMs);
  const [message] = await emulator<Array<{ messageId: string; recipientId: string }>>(
    stack,
    `messages?loginId=${loginId}`,
  );
  if (!message) throw new Error('no message at the emulator');
  return { mid: message.messageId, psid: message.recipientId };
}

/** One item of the stack's table (a consistent read), if any. */
export async function tableItem(stack: RunningStack, key: { pk: string; sk: string }) {
  const { Item } = await stack.doc.send(
    new GetCommand({ TableName: stack.info.tableName, Key: key, ConsistentRead: true }),
  );
  return Item;
}

/** The profile item of a PSID, if any. */
export const profileOf = (stack: RunningStack, psid: string) =>
  tableItem(stack, keys.profile(psid));

/**
 * The person replies `at` (default now): the emulator opens their window, the webhook tells the
 * stack, and this waits until the stack has linked the PSID to the login_id.
 */
export async function replyAndLink(
  stack: RunningStack,
  reply: { loginId: string; psid: string; at?: number; text?: string },
  timeoutMs = 15_000,
): Promise<void> {
  const at = reply.at ?? Date.now();
  const { psid } = reply;
  await emulator(stack, 'user-messages', { psid, pageId: PAGE_ID, timestamp: at });
  await postWebhook(stack, pageWebhook([replyItem({ ...reply, at, text: reply.text ?? 'Hi!' })]));
  await eventually(
    async () => ((await profileOf(stack, psid))?.loginId ? true : undefined),
    timeoutMs,
    'the reply to link the PSID',
  );
}

/** Every item of the stack's table. */
export async function scanTable(stack: RunningStack): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.doc.send(
      new ScanCommand({
        TableName: stack.info.tableName,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
