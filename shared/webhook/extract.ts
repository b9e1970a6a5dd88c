import { normalizeTimestamp, optinTime } from '../login-connect/window';
import type { EventJob, OptinJob, QueueJob } from '../messages';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A non-empty id as a string: Facebook sends ids as strings, but be liberal. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

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

/**
 * Turns a webhook body into queue jobs. Facebook batches: every `entry[]` and every item of its
 * `messaging[]` and `standby[]` is walked. A Login Connect opt-in (an `optin` carrying `login_id`)
 * becomes an opt-in job; everything else becomes an event job carrying the item as received, so
 * nothing Facebook sends is dropped or refused just because this version does not act on it.
 */
export function extractJobs(payload: Json, receivedAt: number): QueueJob[] {
  const jobs: QueueJob[] = [];
  const unknown = (channel: EventJob['channel'], item: unknown, pageId?: string): EventJob => ({
    v: 1,
    kind: 'event',
    eventType: 'unknown',
    channel,
    ...(pageId ? { pageId } : {}),
    receivedAt,
    payload: item,
  });

  if (!Array.isArray(payload.entry)) {
    jobs.push(unknown('other', payload));
    return jobs;
  }
  for (const entry of payload.entry) {
    if (!isObject(entry)) {
      jobs.push(unknown('other', entry));
      continue;
    }
    const entryPageId = idOf(entry.id);
    let walked = false;
    for (const channel of ['messaging', 'standby'] as const) {
      const items = entry[channel];
      if (!Array.isArray(items)) continue;
      walked = true;
      for (const item of items) {
        jobs.push(
          isObject(item)
            ? jobForItem(item, channel, entryPageId, entry.time, receivedAt)
            : unknown(channel, item, entryPageId),
        );
      }
    }
    if (Array.isArray(entry.changes)) {
      walked = true;
      for (const change of entry.changes) {
        const field =
          isObject(change) && typeof change.field === 'string' ? change.field : 'unknown';
        jobs.push({
          v: 1,
          kind: 'event',
          eventType: `change:${field}`,
          channel: 'changes',
          ...(entryPageId ? { pageId: entryPageId } : {}),
          receivedAt,
          payload: change,
        });
      }
    }
    if (!walked) jobs.push(unknown('other', entry, entryPageId));
  }
  return jobs;
}

function jobForItem(
  item: Json,
  channel: 'messaging' | 'standby',
  entryPageId: string | undefined,
  entryTime: unknown,
  receivedAt: number,
): QueueJob {
  const recipient = isObject(item.recipient) ? item.recipient : {};
  const sender = isObject(item.sender) ? item.sender : {};
  const eventType = eventTypeOf(item);
  const pageId =
    eventType === 'message_echo'
      ? (idOf(sender.id) ?? entryPageId)
      : (idOf(recipient.id) ?? entryPageId);

  if (eventType === 'optin' && isObject(item.optin)) {
    const loginId = idOf(item.optin.login_id);
    if (loginId !== undefined && pageId !== undefined) {
      const job: OptinJob = {
        v: 1,
        kind: 'optin',
        pageId,
        loginId,
        optinAt: optinTime(item.timestamp, entryTime, receivedAt),
        receivedAt,
        source: 'webhook',
      };
      return job;
    }
  }

  const psid = eventType === 'message_echo' ? idOf(recipient.id) : idOf(sender.id);
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
    payload: item,
  };
}
