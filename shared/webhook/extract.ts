import { createHash } from 'node:crypto';
import { isObject, type JsonObject } from '../json';
import { normalizeTimestamp } from '../login-connect/window';
import {
  type EventJob,
  LoginIdSchema,
  MAX_LOGIN_ID_LENGTH,
  MAX_REJECTED_EXCERPT_LENGTH,
  MAX_REJECTION_REASON_LENGTH,
  type OptinJob,
  PageIdSchema,
  parseWebhookOptin,
  type QueueJob,
  type RejectedOptinJob,
} from '../messages';
import { toWellFormed } from '../text';
import { boundedPayload, digestJson, excerptJson } from './bounded';

type Json = JsonObject;

/**
 * Facebook batches at most 1,000 updates into one delivery. Items beyond this many become one
 * summary event (how many, of which kind) after the first 1,000 jobs, so no body can make the
 * webhook enqueue without end.
 */
export const MAX_JOBS_PER_DELIVERY = 1_000;

/**
 * An id in an event the sender does not send to (a PSID, the Page of a receipt): kept when it is a
 * string an opt-in's `login_id` could be (so it can be a key), left out otherwise. Never coerced.
 */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' && LoginIdSchema.safeParse(value).success ? value : undefined;
}

/** A `changes[].field` name as an event type: short and plain, or `unknown`. */
const FIELD_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The keys that name a Messenger event kind, in the order they are checked. */
const EVENT_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['optin', 'optin'],
  ['message', 'message'],
  ['postback', 'postback'],
  ['delivery', 'delivery'],
  ['read', 'read'],
  ['reaction', 'reaction'],
  ['referral', 'referral'],
  ['policy_enforcement', 'policy_enforcement'],
  ['account_linking', 'account_linking'],
  ['pass_thread_control', 'pass_thread_control'],
  ['take_thread_control', 'take_thread_control'],
  ['request_thread_control', 'request_thread_control'],
  ['app_roles', 'app_roles'],
  ['game_play', 'game_play'],
];

function eventTypeOf(item: Json): string {
  for (const [key, type] of EVENT_KEYS) {
    if (item[key] === undefined) continue;
    if (type === 'message' && isObject(item.message) && item.message.is_echo === true)
      return 'message_echo';
    return type;
  }
  return 'unknown';
}

/** A Login Connect opt-in: an `optin` that names a `login_id` (of any type: it is checked later). */
const isLoginConnectOptin = (item: Json): item is Json & { optin: Json } =>
  isObject(item.optin) && item.optin.login_id !== undefined;

/**
 * Turns a webhook body into queue jobs. Facebook batches: every `entry[]` and every item of its
 * `messaging[]` and `standby[]` is walked. A Login Connect opt-in (an `optin` carrying `login_id`)
 * becomes an opt-in job when it meets the contract (`parseWebhookOptin`), and a rejected opt-in
 * job (recorded, never sent) when it does not. Everything else becomes an event job carrying the
 * item as received (or, when it is too deep, too large or not storable, its bounded stand-in), so
 * nothing Facebook sends is dropped or refused just because this version does not act on it.
 * Never throws on anything `JSON.parse` returns.
 */
export function extractJobs(payload: Json, receivedAt: number): QueueJob[] {
  const jobs: QueueJob[] = [];
  const dropped = { optins: 0, events: 0 };
  const room = () => jobs.length < MAX_JOBS_PER_DELIVERY;
  const unknown = (channel: EventJob['channel'], item: unknown, pageId?: string): EventJob => ({
    v: 1,
    kind: 'event',
    eventType: 'unknown',
    channel,
    ...(pageId ? { pageId } : {}),
    receivedAt,
    payload: boundedPayload(item),
  });
  const add = (make: () => QueueJob, optin = false) => {
    if (room()) jobs.push(make());
    else if (optin) dropped.optins += 1;
    else dropped.events += 1;
  };

  if (!Array.isArray(payload.entry)) {
    jobs.push(unknown('other', payload));
    return jobs;
  }
  // Values that are not objects cannot be entries or events: each run of them is kept as one
  // event (bounded), however many there are.
  const strays: unknown[] = [];
  for (const entry of payload.entry) {
    if (!isObject(entry)) {
      strays.push(entry);
      continue;
    }
    const entryPageId = idOf(entry.id);
    let walked = false;
    for (const channel of ['messaging', 'standby'] as const) {
      const items = entry[channel];
      if (!Array.isArray(items)) continue;
      walked = true;
      const strayItems: unknown[] = [];
      for (const item of items) {
        if (!isObject(item)) {
          strayItems.push(item);
          continue;
        }
        if (isLoginConnectOptin(item)) {
          add(() => optinJobFor(item, channel, entry, receivedAt), true);
          continue;
        }
        add(() => eventJobFor(item, channel, entryPageId, receivedAt));
      }
      if (strayItems.length > 0) add(() => unknown(channel, strayItems, entryPageId));
    }
    if (Array.isArray(entry.changes)) {
      walked = true;
      for (const change of entry.changes) {
        const field =
          isObject(change) && typeof change.field === 'string' && FIELD_NAME.test(change.field)
            ? change.field
            : 'unknown';
        add(() => ({
          v: 1,
          kind: 'event',
          eventType: `change:${field}`,
          channel: 'changes',
          ...(entryPageId ? { pageId: entryPageId } : {}),
          receivedAt,
          payload: boundedPayload(change),
        }));
      }
    }
    if (!walked) add(() => unknown('other', entry, entryPageId));
  }
  if (strays.length > 0) add(() => unknown('other', strays));
  if (dropped.optins + dropped.events > 0) {
    jobs.push({
      v: 1,
      kind: 'event',
      eventType: 'overflow',
      channel: 'other',
      receivedAt,
      payload: {
        truncated: true,
        reason: 'too_many_events',
        kept: jobs.length,
        droppedOptins: dropped.optins,
        droppedEvents: dropped.events,
      },
    });
  }
  return jobs;
}

/** The field names an operator reads in a rejection reason, by schema key. */
type OptinField = 'loginId' | 'pageId' | 'timestamp';

function optinJobFor(
  item: Json & { optin: Json },
  channel: 'messaging' | 'standby',
  entry: Json,
  receivedAt: number,
): OptinJob | RejectedOptinJob {
  const recipient = isObject(item.recipient) ? item.recipient : {};
  // The Page: `recipient.id` when present, else `entry.id`. The time: the event's `timestamp`
  // when present, else `entry.time`. A value present but invalid never falls back.
  const fromRecipient = recipient.id !== undefined;
  const fromTimestamp = item.timestamp !== undefined;
  const input = {
    loginId: item.optin.login_id,
    pageId: fromRecipient ? recipient.id : entry.id,
    timestamp: fromTimestamp ? item.timestamp : entry.time,
  };
  const parsed = parseWebhookOptin(input, receivedAt);
  if (parsed.success) {
    return {
      v: 1,
      kind: 'optin',
      pageId: parsed.data.pageId,
      loginId: parsed.data.loginId,
      // Never later than when we received it: a clock running ahead must not stretch the window.
      optinAt: Math.min(parsed.data.timestamp, receivedAt),
      receivedAt,
      source: 'webhook',
    };
  }
  const label: Record<OptinField, string> = {
    loginId: 'optin.login_id',
    pageId: fromRecipient || entry.id === undefined ? 'recipient.id' : 'entry.id',
    timestamp: fromTimestamp || entry.time === undefined ? 'timestamp' : 'entry.time',
  };
  const missing: Record<OptinField, string> = {
    loginId: 'missing',
    pageId: 'missing (no recipient.id and no entry.id)',
    timestamp: 'missing (no timestamp and no entry.time)',
  };
  const reasons = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = issue.path[0] as OptinField;
    reasons.add(
      `${label[field] ?? String(field)}: ${input[field] === undefined ? missing[field] : issue.message}`,
    );
  }
  return rejectedOptin(item, channel, receivedAt, input.pageId, [...reasons].join('; '));
}

function rejectedOptin(
  item: Json & { optin: Json },
  channel: 'messaging' | 'standby',
  receivedAt: number,
  pageIdInput: unknown,
  reason: string,
): RejectedOptinJob {
  const loginId = item.optin.login_id;
  const pageId = PageIdSchema.safeParse(pageIdInput);
  const kept =
    typeof loginId === 'string' ? toWellFormed(loginId.slice(0, MAX_LOGIN_ID_LENGTH)) : '';
  return {
    v: 1,
    kind: 'rejected_optin',
    reason: reason.slice(0, MAX_REJECTION_REASON_LENGTH),
    channel,
    ...(typeof loginId === 'string'
      ? {
          ...(kept !== '' ? { loginId: kept } : {}),
          loginIdSha256: createHash('sha256').update(loginId, 'utf8').digest('hex'),
          ...(loginId.length > MAX_LOGIN_ID_LENGTH ? { loginIdLength: loginId.length } : {}),
        }
      : {}),
    ...(pageId.success ? { pageId: pageId.data } : {}),
    receivedAt,
    item: { ...digestJson(item), excerpt: excerptJson(item, MAX_REJECTED_EXCERPT_LENGTH) },
  };
}

function eventJobFor(
  item: Json,
  channel: 'messaging' | 'standby',
  entryPageId: string | undefined,
  receivedAt: number,
): EventJob {
  const recipient = isObject(item.recipient) ? item.recipient : {};
  const sender = isObject(item.sender) ? item.sender : {};
  const eventType = eventTypeOf(item);
  const echo = eventType === 'message_echo';
  const pageId = (echo ? idOf(sender.id) : idOf(recipient.id)) ?? entryPageId;
  const psid = echo ? idOf(recipient.id) : idOf(sender.id);
  const timestamp = normalizeTimestamp(item.timestamp);
  return {
    v: 1,
    kind: 'event',
    eventType,
    channel,
    ...(pageId ? { pageId } : {}),
    ...(psid ? { psid } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    receivedAt,
    payload: boundedPayload(item),
  };
}
