/**
 * `POST /{version}/me/messages` and `/{version}/{page-id}/messages`: credentials, then a queued
 * or flaky fault, then the Page's restriction, then the rules (rules.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AppSecrets } from '../../../shared/secrets';
import { isRecord } from './body';
import { RECIPIENT_KEYS } from './constants';
import { authenticatePage } from './credentials';
import { isConnected, waitWhileConnected } from './http';
import { type GraphCall, readParams, recorder } from './page-call';
import { REFUSE, refusal } from './refusals';
import { applySend, decideSend } from './rules';
import type { EmulatorStore } from './store';

export async function handleSend(store: EmulatorStore, call: GraphCall): Promise<void> {
  const { req, res, node, query } = call;
  const method = req.method ?? 'GET';
  const { entry, finish, refuse } = recorder(store, call);

  const read = await readParams(req);
  if ('refusal' in read) return refuse(read.refusal);
  const { body } = read;
  // Graph reads parameters from both; the body wins where both have one.
  const params = { ...query, ...body };
  const rawRecipient = isRecord(params.recipient) ? params.recipient : undefined;
  if (rawRecipient) entry.recipient = redactRecipient(rawRecipient);
  if (typeof params.messaging_type === 'string') entry.messagingType = params.messaging_type;

  if (method !== 'POST') return refuse(REFUSE.unsupported(method, node));
  let secrets: AppSecrets;
  try {
    secrets = await store.secrets();
  } catch (error) {
    // A half-edited secret file: answer like a Graph outage (code 1, retryable) and say why.
    const why = error instanceof Error ? error.message : String(error);
    return refuse(refusal(1, `Graph emulator cannot read the secrets: ${why}`, { status: 500 }));
  }

  // Credentials first, as Graph authenticates before it reads parameters.
  const noToken = node === 'me' ? REFUSE.noTokenMe() : REFUSE.noToken();
  const authorization = req.headers.authorization;
  const pageId = authenticatePage({ body, query, authorization, noToken }, secrets, store, entry);
  if (typeof pageId !== 'string') return refuse(pageId);
  if (node !== 'me' && node !== pageId) return refuse(REFUSE.unsupported(method, node));

  const decide = () =>
    decideSend(
      store.rulesState(),
      { pageId, params },
      store.now(),
      `m_${randomBytes(24).toString('base64url')}`,
    );
  const loginId = typeof rawRecipient?.login_id === 'string' ? rawRecipient.login_id : undefined;
  const { queued, flaky } = store.faultFor(pageId, loginId);
  const fault = queued ?? flaky;
  if (queued) entry.faultId = queued.id;
  else if (fault) entry.flaky = true;
  if (fault && fault.delayMs > 0) {
    const connected = await waitWhileConnected(res, fault.delayMs);
    if (!connected) {
      // The client gave up: by default nothing was delivered, so a retry is the one message
      // our end-to-end test expects. `deliverOnAbort` models Graph delivering anyway.
      if (fault.deliverOnAbort && !fault.reply) {
        const decision = decide();
        if ('change' in decision) {
          applySend(store.rulesState(), decision.change);
          entry.messageId = decision.change.message.messageId;
        }
      }
      finish(499, 'aborted', undefined);
      return;
    }
  }
  if (fault?.reply) {
    const { status, error, body } = fault.reply;
    if (error) finish(status, 'fault', undefined, error);
    else
      finish(
        status,
        'fault',
        body,
        undefined,
        typeof body === 'string' ? 'text/html; charset=utf-8' : undefined,
      );
    return;
  }

  if (store.isRestricted(pageId)) return refuse(REFUSE.restricted());

  // From here to the write everything is synchronous: no other request can interleave, and the
  // message only counts once the answer is handed to a client that is still there.
  const decision = decide();
  if ('refusal' in decision) return refuse(decision.refusal);
  if (!isConnected(res)) {
    finish(499, 'aborted', undefined);
    return;
  }
  applySend(store.rulesState(), decision.change);
  entry.messageId = decision.change.message.messageId;
  finish(200, 'accepted', decision.answer);
}

/** The recipient as recorded: its keys and string values, nothing else. */
function redactRecipient(recipient: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of RECIPIENT_KEYS) if (recipient[key] !== undefined) out[key] = recipient[key];
  return out;
}
