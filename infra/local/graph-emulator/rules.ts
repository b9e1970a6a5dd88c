/**
 * The Send API rules as a pure function: given what the emulator knows (opt-ins, opt-outs, user
 * messages, known PSIDs), a send's decoded parameters, the Page of its token and the time,
 * `decideSend` says what Graph answers and, for an accepted send, what changes. It reads no clock,
 * draws no random number and changes nothing; `applySend` makes the change. The order of the
 * checks is in README.md ("Login Connect rules", "Rules applied to recipient.id").
 */
import { createHash } from 'node:crypto';
import { MessageSchema } from '../../../shared/login-connect/first-message';
import { type TagRule, tagInForce } from '../../../shared/login-connect/message-tags';
import { isRecord } from './body';
import { MESSAGING_TYPES, NOTIFICATION_TYPES, RECIPIENT_KEYS } from './constants';
import { messageRefusal, REFUSE, type Refusal } from './refusals';
import type { KnownPsid, Optin, Optout, RecordedMessage, UserMessage } from './types';

/** What the rules read of the emulator's state. Maps by `psidKey` where a PSID is the key. */
export interface RulesState {
  /** By loginId. */
  readonly optins: ReadonlyMap<string, Readonly<Optin>>;
  readonly optouts: readonly Optout[];
  readonly userMessages: ReadonlyMap<string, UserMessage>;
  readonly psids: ReadonlyMap<string, KnownPsid>;
}

/** The same state, as `applySend` changes it. */
export interface MutableRulesState extends RulesState {
  readonly optins: Map<string, Optin>;
  readonly psids: Map<string, KnownPsid>;
  readonly sent: RecordedMessage[];
}

/** A send request once its credentials were checked: the token's Page and the parameters. */
export interface SendRequest {
  pageId: string;
  /** Query and body parameters, decoded (the body wins where both have one). */
  params: Record<string, unknown>;
}

/** What an accepted send changes. */
export interface SendChange {
  /** The first message locks the login_id to its Page at this instant. */
  lock?: { loginId: string; lockedAt: number };
  /** The Page now knows the person behind the login_id under this PSID. */
  knownPsid?: KnownPsid;
  /** The message as `GET /_emulator/messages` lists it. */
  message: RecordedMessage;
}

export type SendDecision =
  | { refusal: Refusal }
  | { answer: { recipient_id?: string; message_id: string }; change: SendChange };

/** A page-scoped id that looks like a PSID (16 digits, no leading zero) and is stable across runs. */
export function fakePsid(pageId: string, key: string): string {
  const hash = createHash('sha256').update(`${pageId}:${key}`).digest('hex');
  const n = BigInt(`0x${hash.slice(0, 16)}`);
  return (10n ** 15n + (n % (9n * 10n ** 15n))).toString();
}

/** The PSID answered as recipient_id for a login_id sent to through a Page. */
export const linkedPsid = (pageId: string, loginId: string) =>
  fakePsid(pageId, `login_id:${loginId}`);

/** Map key of a (Page, PSID) pair: PSIDs are Page-scoped. */
export const psidKey = (pageId: string, psid: string) => `${pageId}/${psid}`;

/**
 * Decides a send: the refusal Graph answers, or the answer and the change of an accepted send.
 * `now` is the emulator's clock; `messageId` names the message if it is accepted.
 */
export function decideSend(
  state: RulesState,
  request: SendRequest,
  now: number,
  messageId: string,
): SendDecision {
  const plan = planSend(state, request, now);
  if ('error' in plan) return { refusal: plan };
  const { pageId } = request;
  const message: RecordedMessage = {
    messageId,
    pageId,
    recipient: plan.recipient,
    messagingType: plan.messagingType,
    ...(plan.tag !== undefined ? { tag: plan.tag } : {}),
    ...(plan.notificationType !== undefined ? { notificationType: plan.notificationType } : {}),
    message: plan.message,
    at: new Date(now).toISOString(),
    ...(plan.recipientId !== undefined ? { recipientId: plan.recipientId } : {}),
  };
  const { loginId, recipientId } = plan;
  return {
    answer: {
      ...(recipientId !== undefined ? { recipient_id: recipientId } : {}),
      message_id: messageId,
    },
    change: {
      ...(loginId !== undefined && plan.firstMessage ? { lock: { loginId, lockedAt: now } } : {}),
      ...(loginId !== undefined && recipientId !== undefined
        ? { knownPsid: { psid: recipientId, pageId, loginId } }
        : {}),
      message,
    },
  };
}

/** Makes the change of an accepted send. */
export function applySend(state: MutableRulesState, change: SendChange): void {
  if (change.lock) {
    const optin = state.optins.get(change.lock.loginId);
    if (optin) optin.lockedAt = change.lock.lockedAt;
  }
  const known = change.knownPsid;
  if (known) state.psids.set(psidKey(known.pageId, known.psid), known);
  state.sent.push(change.message);
}

/** An accepted send, before its message is named. */
interface SendPlan {
  recipient: Record<string, string>;
  loginId?: string;
  messagingType: string;
  tag?: string;
  notificationType?: string;
  message: Record<string, unknown>;
  recipientId?: string;
  firstMessage: boolean;
}

/** The parameters of a send that passed the parameter checks. */
interface CheckedParams {
  base: Omit<SendPlan, 'recipientId' | 'firstMessage' | 'loginId'>;
  tagRule: ReturnType<typeof tagInForce> | undefined;
}

/** Validates a send against the parameters and the Login Connect rules. */
function planSend(
  state: RulesState,
  { pageId, params }: SendRequest,
  now: number,
): SendPlan | Refusal {
  const checked = checkParams(params, now);
  if ('error' in checked) return checked;
  const { base, tagRule } = checked;
  const { recipient, messagingType } = base;
  const tagWindowOpen = (psid: string) =>
    !tagRule?.ok || tagWindowIsOpen(state, tagRule.rule, pageId, psid, now);

  const psid = recipient.id;
  if (psid !== undefined) {
    if (optedOut(state, pageId, { psid })) return REFUSE.unavailable();
    if (!state.psids.has(psidKey(pageId, psid))) return REFUSE.noUser();
    if (messagingType !== 'MESSAGE_TAG' && !windowOpen(state, pageId, psid, now)) {
      return REFUSE.window();
    }
    if (!tagWindowOpen(psid)) return REFUSE.window();
    return { ...base, recipientId: psid, firstMessage: false };
  }
  const loginId = recipient.login_id;
  if (loginId === undefined) {
    // The other recipient kinds are accepted as they are: the emulator has no record of the
    // people behind them. Graph omits recipient_id for user_ref and phone_number.
    const [[kind, value] = ['', '']] = Object.entries(recipient);
    const recipientId =
      kind === 'user_ref' || kind === 'phone_number'
        ? undefined
        : fakePsid(pageId, `${kind}:${value}`);
    return { ...base, ...(recipientId ? { recipientId } : {}), firstMessage: false };
  }

  const linked = linkedPsid(pageId, loginId);
  if (optedOut(state, pageId, { loginId, psid: linked })) return REFUSE.unavailable();
  const optin = state.optins.get(loginId);
  if (!optin) return REFUSE.noUser();
  // A login_id is derived from one Page (HMAC of umc_<ASID>_<app>_<page>), and the first
  // message locks it to that Page, so any other Page gets the lock refusal.
  if (optin.pageId !== pageId) return REFUSE.locked();
  const firstMessage = optin.lockedAt === undefined;
  if (firstMessage && messagingType === 'MESSAGE_TAG') return REFUSE.tagFirst();
  // The first message has the opt-in's 24 h only. Later ones also have the person's window: a
  // reply from the linked PSID re-opens it. Tagged messages after the first one are accepted at
  // any time (FAQ).
  if (
    messagingType !== 'MESSAGE_TAG' &&
    now > optin.windowClosesAt &&
    (firstMessage || !windowOpen(state, pageId, linked, now))
  ) {
    return REFUSE.window();
  }
  if (!tagWindowOpen(linked)) return REFUSE.window();
  return { ...base, loginId, recipientId: linked, firstMessage };
}

/** The parameter checks (recipient, messaging_type, tag, notification_type, message). */
function checkParams(params: Record<string, unknown>, now: number): CheckedParams | Refusal {
  const read = readRecipient(params.recipient);
  if ('error' in read) return read;
  const { recipient } = read;

  // UNCONFIRMED: Meta's direct-integrator sample omits messaging_type on its login_id send; we
  // require it, as the Send API reference does since 2018.
  const messagingType = params.messaging_type;
  if (messagingType === undefined || messagingType === '') {
    return REFUSE.param('The parameter messaging_type is required');
  }
  if (typeof messagingType !== 'string' || !MESSAGING_TYPES.includes(messagingType)) {
    return REFUSE.oneOf('messaging_type', MESSAGING_TYPES, messagingType);
  }
  const tag = params.tag;
  if (messagingType === 'MESSAGE_TAG' && (typeof tag !== 'string' || tag === '')) {
    return REFUSE.param('Param tag is required when messaging_type is MESSAGE_TAG');
  }
  if (messagingType !== 'MESSAGE_TAG' && tag !== undefined && tag !== '') {
    return REFUSE.param('Param tag can only be used with messaging_type MESSAGE_TAG');
  }
  // Tags as they stand today (shared/login-connect/message-tags.ts): a retired or unknown one
  // fails with error 100, as developers report since 27 April 2026 (reference 3.3).
  const tagRule = messagingType === 'MESSAGE_TAG' ? tagInForce(String(tag), now) : undefined;
  if (tagRule && !tagRule.ok) return REFUSE.param('Invalid parameter');
  const notificationType = params.notification_type;
  if (
    notificationType !== undefined &&
    (typeof notificationType !== 'string' || !NOTIFICATION_TYPES.includes(notificationType))
  ) {
    return REFUSE.oneOf('notification_type', NOTIFICATION_TYPES, notificationType);
  }

  const message = params.message;
  if (message === undefined || message === '') {
    return REFUSE.param('The parameter message is required');
  }
  if (!isRecord(message)) return REFUSE.param('Param message must be a JSON object');
  const checked = MessageSchema.safeParse(message);
  if (!checked.success) return messageRefusal(checked.error.issues);

  const base = {
    recipient,
    messagingType,
    ...(typeof tag === 'string' && tag !== '' ? { tag } : {}),
    ...(typeof notificationType === 'string' ? { notificationType } : {}),
    message,
  };
  return { base, tagRule };
}

/** Graph's recipient object: exactly one known key, a non-empty string (ids may be numbers). */
export function readRecipient(value: unknown): { recipient: Record<string, string> } | Refusal {
  if (value === undefined || value === '')
    return REFUSE.param('The parameter recipient is required');
  if (!isRecord(value)) return REFUSE.param('Param recipient must be a JSON object');
  // Unknown keys are ignored (liberal); the known ones must be exactly one.
  const present = RECIPIENT_KEYS.filter((k) => value[k] !== undefined);
  const [key] = present;
  if (present.length !== 1 || key === undefined) {
    return REFUSE.param(`Param recipient must have exactly one of ${RECIPIENT_KEYS.join(', ')}`);
  }
  const raw = value[key];
  const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (key === 'id') {
    // The error Meta's Login Connect FAQ cites when a login_id is put into recipient.id.
    if (typeof id !== 'string' || !/^\d+$/.test(id)) {
      return REFUSE.param('Param recipient[id] must be a valid ID string (e.g., "123")');
    }
  } else if (typeof id !== 'string' || id === '') {
    return REFUSE.param(`Param recipient[${key}] must be a non-empty string`);
  }
  return { recipient: { [key]: id } };
}

/** A tag with a window (HUMAN_AGENT: 7 days) counts it from the person's last message. */
function tagWindowIsOpen(
  state: RulesState,
  rule: TagRule,
  pageId: string,
  psid: string,
  now: number,
): boolean {
  if (rule.windowMs === undefined) return true;
  const last = state.userMessages.get(psidKey(pageId, psid));
  return last !== undefined && now < last.lastMessageAt + rule.windowMs;
}

/**
 * The person turned off messages from this Page: an opt-out names them by login_id or PSID, and
 * a login_id and its linked PSID are the same person (the same thread).
 */
function optedOut(
  state: RulesState,
  pageId: string,
  who: { loginId?: string; psid: string },
): boolean {
  return state.optouts.some(
    (o) =>
      (o.pageId ?? pageId) === pageId &&
      (o.loginId !== undefined
        ? o.loginId === who.loginId || linkedPsid(pageId, o.loginId) === who.psid
        : o.psid === who.psid),
  );
}

/** The person's 24 h window from their last message to this Page is open at `now`. */
function windowOpen(state: RulesState, pageId: string, psid: string, now: number): boolean {
  const last = state.userMessages.get(psidKey(pageId, psid));
  return last !== undefined && now <= last.windowClosesAt;
}
