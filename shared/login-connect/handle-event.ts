import { isObject, type JsonObject } from '../json';
import { type EventJob, LoginIdSchema } from '../messages';
import type { PersonStore } from '../store/person-store';
import { normalizeTimestamp } from './window';

type Json = JsonObject;

/** What became of a webhook event: acted on, or kept as received for a later version. */
export type EventOutcome =
  | { outcome: 'user_message'; linked: boolean }
  | { outcome: 'receipt'; kind: 'delivered' | 'read'; updated: number }
  | { outcome: 'opted_out' | 'opted_in_again'; ids: number }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'unhandled' };

/** `STOP_NOTIFICATIONS`, `STOP NOTIFICATIONS` (the docs' spelling) and the like. */
export function notificationStatus(value: unknown): 'stop' | 'resume' | undefined {
  if (typeof value !== 'string') return undefined;
  const normal = value
    .trim()
    .toUpperCase()
    .replace(/[\s_-]+/g, '_');
  if (normal === 'STOP_NOTIFICATIONS' || normal === 'STOP') return 'stop';
  if (normal === 'RESUME_NOTIFICATIONS' || normal === 'RESUME') return 'resume';
  return undefined;
}

/**
 * `prior_message` marks a person's reply to a message that was sent to their `login_id`:
 * `{ source: "fb_login", identifier: <login_id> }`. Read at the item's top level (as documented)
 * or inside `message`/`postback`, to be liberal.
 */
export function priorLoginId(item: Json): string | undefined {
  const candidates = [
    item.prior_message,
    isObject(item.message) ? item.message.prior_message : undefined,
    isObject(item.postback) ? item.postback.prior_message : undefined,
  ];
  for (const prior of candidates) {
    // The same contract as an opt-in's login_id: a string exactly as sent, never a number made one.
    if (isObject(prior) && prior.source === 'fb_login')
      return LoginIdSchema.safeParse(prior.identifier).data;
  }
  return undefined;
}

/**
 * Acts on the webhook events that carry a person's life after the opt-in: their messages (the
 * 24 h window, the PSID ↔ `login_id` link), delivery and read receipts, and STOP/RESUME. Anything
 * else is left for the caller to keep as received.
 */
export async function handleEvent(
  job: EventJob,
  people: PersonStore,
  nowMs: number,
): Promise<EventOutcome> {
  const item = isObject(job.payload) ? job.payload : {};
  switch (job.eventType) {
    case 'message':
    case 'postback': {
      if (!job.psid || !job.pageId) return { outcome: 'ignored', reason: 'no sender or Page' };
      const loginId = priorLoginId(item);
      await people.recordUserMessage(
        {
          psid: job.psid,
          pageId: job.pageId,
          atMs: job.timestamp ?? job.receivedAt,
          ...(loginId ? { priorLoginId: loginId } : {}),
        },
        nowMs,
      );
      return { outcome: 'user_message', linked: loginId !== undefined };
    }
    case 'delivery':
    case 'read': {
      const body = isObject(item[job.eventType]) ? (item[job.eventType] as Json) : {};
      const watermarkMs = normalizeTimestamp(body.watermark);
      const mids = Array.isArray(body.mids)
        ? body.mids.filter((m): m is string => typeof m === 'string')
        : [];
      const kind = job.eventType === 'delivery' ? 'delivered' : 'read';
      const updated = await people.applyReceipt({
        ...(job.psid ? { psid: job.psid } : {}),
        kind,
        ...(watermarkMs !== undefined ? { watermarkMs } : {}),
        ...(mids.length > 0 ? { mids } : {}),
      });
      return { outcome: 'receipt', kind, updated };
    }
    case 'optin': {
      const optin = isObject(item.optin) ? item.optin : {};
      const status = notificationStatus(optin.notification_messages_status);
      if (status === undefined || !job.psid) return { outcome: 'unhandled' };
      const person = { kind: 'psid' as const, id: job.psid };
      if (status === 'stop') {
        const ids = await people.suppress(
          person,
          { source: 'stop', reason: 'stop_notifications' },
          nowMs,
        );
        return { outcome: 'opted_out', ids: ids.length };
      }
      // RESUME lifts only what STOP put there: an opt-out by the business or Facebook stays.
      const ids = await people.lift(person, 'stop', nowMs);
      return { outcome: 'opted_in_again', ids: ids.length };
    }
    case 'message_echo':
      return { outcome: 'ignored', reason: 'our own message' };
    default:
      return { outcome: 'unhandled' };
  }
}
