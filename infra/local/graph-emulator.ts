/**
 * Graph API emulator: a local stand-in for Facebook's Send API, faithful to the rules in
 * `shared/reference/messenger-platform.md` (sections 3 and 4) and to the Login Connect FAQ, for
 * `npm start`, the end-to-end tests and the simulator. It listens on loopback only, uses nothing
 * but `node:http`, and keeps its state in memory.
 *
 * Graph endpoints
 * ---------------
 *   POST /{version}/me/messages          Send API; the Page is the one whose token is used.
 *   POST /{version}/{page-id}/messages   Same; page-id must be the token's Page.
 *   GET  /{version}/{user-id}/permissions
 *   GET  /{version}/{page-id}/subscribed_apps   The app's webhook subscription to the Page:
 *            { data: [{ category, link, name, id, subscribed_fields }] }, or { data: [] } when the
 *            app is not subscribed. Needs the Page's own token and appsecret_proof, as sends do.
 *   POST /{version}/{page-id}/subscribed_apps?subscribed_fields=a,b   Subscribes the app with
 *            these fields (comma-separated, or a JSON array; query or body), replacing the old
 *            ones: { success: true }. Unknown fields → 400 code 100. A Page set to refuse (see
 *            the control API) → 403 code 200 "(#200) Permissions error" (wording UNCONFIRMED:
 *            a Page token without pages_manage_metadata).
 *   Every Page of the secret starts subscribed with messaging_optins, messages,
 *   messaging_postbacks, message_deliveries and message_reads.
 *
 * Answers to Page-token calls (sends and subscribed_apps) carry Graph's usage headers:
 * `X-App-Usage: {"call_count":0,"total_cputime":0,"total_time":0}` and
 * `X-Business-Use-Case-Usage: {"<page-id>":[{"type":"messenger","call_count":0,…,
 * "estimated_time_to_regain_access":0}]}`, or what `POST /_emulator/usage` set (percentages;
 * the estimate in minutes, reference 7.4).
 *
 * A revoked token (control API) gets 400 code 190 subcode 460 on every call, before faults. A
 * restricted Page (control API) gets 400 code 10 subcode 1893063 "(#10) This Page is temporarily
 * restricted from sending messages." on every send (Messenger changelog, 25 June 2026; wording
 * UNCONFIRMED), after the queued faults and before the parameter checks.
 *
 * `{version}` is any `vNN.N`. The Page token may come in the JSON body (`access_token`), the query
 * string, a form field, or an `Authorization: Bearer` header; it must be one of the secret
 * document's `pages[*].accessToken`. `appsecret_proof` (query or body) is hex
 * HMAC-SHA256(appSecret, token) and is required unless the emulator was started with
 * `requireAppSecretProof: false`. Bodies may be JSON, form-encoded or multipart (`curl -F`), with
 * JSON-string fields (`recipient={"login_id":"…"}`) or bracket fields (`recipient[login_id]=…`).
 *
 * Every rule below runs after the credential checks, the queued faults (which answer instead of
 * them) and the parameter checks (recipient, messaging_type, tag, notification_type, message).
 * "The person's window" of a PSID on a Page is open while now <= its latest user message + 24 h
 * (the boundary instant included), on the emulator's clock.
 *
 * Login Connect rules applied to `recipient.login_id`, in this order:
 *   opted out (its loginId, or its linked PSID)      → 400 code 551
 *   no opt-in registered                             → 400 code 100 subcode 2018001
 *   another Page than the opt-in's / the locked one  → 400 code 100 (wording UNCONFIRMED)
 *   MESSAGE_TAG before the first message             → 400 code 100 (wording UNCONFIRMED)
 *   first message, UPDATE/RESPONSE more than 24 h after the opt-in
 *                                                    → 400 code 10 subcode 2018278
 *   later message, UPDATE/RESPONSE more than 24 h after the opt-in and the linked PSID's window
 *   is not open (no user message from it, or the last one more than 24 h ago)
 *                                                    → 400 code 10 subcode 2018278
 *   MESSAGE_TAG after the first message              → accepted with a tag in force (below)
 * A success is `{ recipient_id, message_id }`; recipient_id is a stable 16-digit fake PSID per
 * (login_id, Page), "the linked PSID". The first accepted message locks the login_id to its Page.
 * Every accepted login_id send makes its linked PSID known to that Page (see below), even one
 * recorded through `deliverOnAbort`.
 *
 * Rules applied to `recipient.id` (a PSID), in this order:
 *   opted out (that PSID, or a loginId whose linked PSID it is, on this Page)
 *                                                    → 400 code 551
 *   not known to the token's Page                    → 400 code 100 subcode 2018001
 *   UPDATE/RESPONSE and the person's window is not open (no user message from that PSID to
 *   this Page, or the last one more than 24 h ago)   → 400 code 10 subcode 2018278
 *   MESSAGE_TAG                                      → accepted with a tag in force (below)
 * Tags (both kinds of recipient; shared/login-connect/message-tags.ts): a retired or unknown tag
 * → 400 code 100 "Invalid parameter"; HUMAN_AGENT more than 7 days after the person's last
 * message to the Page (or with none registered) → 400 code 10 subcode 2018278. The emulator
 * assumes the app was granted the Human Agent feature.
 * PSIDs are Page-scoped: one is known to a Page once (a) the emulator answered it as the
 * recipient_id of a login_id send through that Page, or (b) a user message from it to that Page
 * was registered (control API). A PSID known only through (a) has no window until (b).
 * A success is `{ recipient_id: <the PSID>, message_id }`.
 * Other recipient kinds (user_ref, phone_number, tokens, post_id, comment_id) are accepted
 * without checks; Graph omits recipient_id for user_ref and phone_number.
 *
 * Control API (JSON in and out; not part of Graph)
 * ------------------------------------------------
 *   GET    /_emulator/health        → 200 { ok: true }
 *   POST   /_emulator/optins        { loginId, pageId, timestamp? }  → 201 the opt-in
 *            timestamp is epoch ms (default: now). Registering a loginId again replaces its
 *            timestamp and clears its lock and first-message state, like `reset_messenger_state`.
 *   POST   /_emulator/optouts       { loginId, pageId? } | { psid, pageId? }  → 201 the opt-out
 *            The person turns off messages: later sends (through that Page, or any Page) to that
 *            loginId or its linked PSID, or to that PSID or the loginId it is linked to, get 551.
 *   POST   /_emulator/user-messages { psid, pageId, timestamp? }  → 201 { psid, pageId,
 *                                     lastMessageAt, windowClosesAt }
 *            The person sent a message to the Page (as a `messages` webhook would tell us):
 *            the PSID becomes known to that Page and its window runs to lastMessageAt + 24 h.
 *            timestamp is epoch ms (default: now); the latest one wins: an older one is accepted
 *            but does not move lastMessageAt back. psid is a string of digits (or a safe integer).
 *   POST   /_emulator/faults        { kind?, loginId?, pageId?, times?, status?, error?, delayMs?,
 *                                     body?, deliverOnAbort? }  → 201 the queued fault
 *            The next `times` (default 1) send requests that pass the credential checks and match
 *            loginId/pageId (when given) get the fault INSTEAD of normal processing: after
 *            `delayMs`, HTTP `status` with `{ error: { code, error_subcode, message, type } }`, or
 *            `body` verbatim (a string is sent as text/html). Only `delayMs` (or kind `slow`)
 *            delays, then processes normally. A delayed request whose client disconnects is
 *            discarded and not recorded, unless `deliverOnAbort: true` (then the message is
 *            recorded although nobody got the answer, as a real timeout can do).
 *            kind presets (explicit fields override them):
 *              server_error   HTTP 500, code 2 "An unexpected error has occurred…"
 *              rate_limit     HTTP 400, code 613 "Calls to this API have exceeded the rate limit."
 *              unavailable    HTTP 400, code 551 "This person isn't available right now."
 *              window_closed  HTTP 400, code 10 subcode 2018278
 *              token_invalid  HTTP 400, code 190 subcode 460 "Error validating access token…"
 *              page_restricted HTTP 400, code 10 subcode 1893063 (the Page is restricted)
 *              page_rate_limit HTTP 400, code 80001 "There have been too many calls to this
 *                             Page account…" (the Page's Business Use Case limit)
 *              slow           delayMs 5000, then normal processing
 *              hang           no answer for 25 s (delayMs 25000), then HTTP 500 code 2; nothing
 *                             is delivered, whether the client waited or gave up
 *            Without kind, status, error or body, a fault is a server_error.
 *   DELETE /_emulator/faults        → 200 { cleared }
 *   POST   /_emulator/flaky         { rate, faults?, seed? }  → 201 the setting
 *            From now on, each send request that passes the credential checks and meets no queued
 *            fault gets, with probability `rate` (0 to 1), one of `faults` (fault fields as above
 *            without loginId, pageId and times, plus `weight`, default 1), drawn by weight.
 *            Default faults, equally likely: HTTP 500 code 1, HTTP 500 code 2, code 613, and
 *            kind `hang`. `seed` (an integer) makes the draws repeatable. Such a request is
 *            recorded with `flaky: true`. Replaces any earlier setting.
 *   DELETE /_emulator/flaky         → 200 { cleared }  (true when a setting was on)
 *   POST   /_emulator/permissions   { userId, granted?, declined? }  → 201
 *            What GET /{version}/{userId}/permissions answers. Default: public_profile and
 *            user_messenger_contact granted.
 *   GET    /_emulator/messages      ?loginId=&psid=&pageId=  → 200 accepted messages, oldest first
 *            (psid= matches sends to recipient.id, not login_id sends that answered that PSID):
 *            [{ messageId, pageId, recipient, messagingType, tag?, notificationType?, message,
 *               at (ISO), recipientId? }]
 *   GET    /_emulator/requests      → 200 every send request, accepted or refused, oldest first:
 *            [{ at, method, path, pageId?, recipient?, messagingType?, tokenIn?, status, outcome,
 *               error?, messageId?, faultId?, flaky? }]  Tokens and proofs never appear.
 *   POST   /_emulator/restrictions  { pageId, untilMs? }  → 201 { pageId, untilMs? }
 *            Meta restricts the Page from sending (until untilMs, epoch ms, or until cleared).
 *   DELETE /_emulator/restrictions  ?pageId=  → 200 { cleared }  (every Page without pageId)
 *   POST   /_emulator/revoked-tokens { pageId }  → 201 { pageId, revoked }
 *            The token the secret holds for the Page now is revoked: every call with it gets
 *            190/460. A new token put in the secret works (how an operator fixes it).
 *   DELETE /_emulator/revoked-tokens → 200 { cleared }
 *   POST   /_emulator/usage         { pageId?, app?, business? }  → 201 the usage headers' values
 *            app: X-App-Usage ({ call_count, total_cputime, total_time }); business: the
 *            X-Business-Use-Case-Usage entry of pageId ({ type?, call_count, total_cputime,
 *            total_time, estimated_time_to_regain_access }). Replaces what was set before.
 *   DELETE /_emulator/usage         → 200 { cleared }  (back to zeros)
 *   POST   /_emulator/subscriptions { pageId, fields?, refuseSubscribe? }  → 201 the subscription
 *            Sets the app's subscription to the Page (fields default: the five above);
 *            refuseSubscribe: POST subscribed_apps with the Page token is refused.
 *   POST   /_emulator/subscriptions/drop { pageId, refuseSubscribe? }  → 201 the subscription
 *            Facebook unsubscribes the app from the Page (as after webhooks failing for long).
 *   GET    /_emulator/state         → 200 { optins, locks, optouts, userMessages, psids, faults,
 *                                            flaky, permissions, restrictions, revokedTokens,
 *                                            usage, subscriptions }
 *            subscriptions lists the Pages set or dropped through the control API; the others
 *            are subscribed with the default fields.
 *            userMessages: [{ psid, pageId, lastMessageAt, windowClosesAt }];
 *            psids, the PSIDs known per Page: [{ psid, pageId, loginId? }] (loginId when it is a
 *            login_id's linked PSID).
 *   POST   /_emulator/reset         → 200 { ok: true } and everything above is forgotten.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { MessageSchema } from '../../shared/login-connect/first-message';
import { type TagRule, tagInForce } from '../../shared/login-connect/message-tags';
import type { AppSecrets } from '../../shared/secrets';
import { formatIssues } from '../../shared/validation';

export interface GraphEmulatorOptions {
  /** @default 0, any free port */
  port?: number;
  /** Must be a loopback address: the emulator accepts real-looking tokens. @default '127.0.0.1' */
  host?: string;
  /** The secret document; called on every request so that edits apply at once. */
  secrets: () => Promise<AppSecrets> | AppSecrets;
  /** Epoch ms; injectable so tests can move across the 24 h window. @default Date.now */
  now?: () => number;
  /** Refuse sends without `appsecret_proof`, as an app with "Require App Secret" does. @default true */
  requireAppSecretProof?: boolean;
  /** Called after each send request is answered (or abandoned), with the redacted record. */
  onRequest?: (request: RecordedRequest) => void;
}

/** Graph's error object. */
export interface GraphError {
  message: string;
  type: string;
  code: number;
  error_subcode?: number;
  fbtrace_id: string;
}

export interface OptinInput {
  loginId: string;
  pageId: string | number;
  /** Epoch ms. @default now */
  timestamp?: number;
}

export interface Optin {
  loginId: string;
  pageId: string;
  optedInAt: number;
  /** The last instant (epoch ms) a first message is accepted. */
  windowClosesAt: number;
  /** When the first message was accepted; set once the login_id is locked to `pageId`. */
  lockedAt?: number;
}

/** One person turning off messages, named by their login_id or by a PSID. */
export type Optout = (
  | { loginId: string; psid?: undefined }
  | { psid: string; loginId?: undefined }
) & {
  /** Only this Page is refused; all Pages when absent. */
  pageId?: string;
};

export type OptoutInput = (
  | { loginId: string; psid?: undefined }
  | { psid: string | number; loginId?: undefined }
) & { pageId?: string | number };

export interface UserMessageInput {
  /** The person's PSID for `pageId`: digits, as in `sender.id` of a `messages` webhook. */
  psid: string | number;
  pageId: string | number;
  /** Epoch ms the person sent it. @default now */
  timestamp?: number;
}

/** The latest message a person sent to a Page, which opens their 24 h window. */
export interface UserMessage {
  psid: string;
  pageId: string;
  lastMessageAt: number;
  /** The last instant (epoch ms) an UPDATE/RESPONSE to this PSID is accepted. */
  windowClosesAt: number;
}

/** A PSID the Page knows; `loginId` when it is that login_id's linked PSID (its recipient_id). */
export interface KnownPsid {
  psid: string;
  pageId: string;
  loginId?: string;
}

export const FAULT_KINDS = [
  'server_error',
  'rate_limit',
  'unavailable',
  'window_closed',
  'token_invalid',
  'page_restricted',
  'page_rate_limit',
  'slow',
  'hang',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** What a fault does, whether queued or drawn by the flaky setting. */
const FAULT_EFFECT = {
  kind: z.enum(FAULT_KINDS).optional(),
  status: z.int().min(200).max(599).optional(),
  error: z
    .strictObject({
      code: z.int(),
      subcode: z.int().optional(),
      message: z.string().optional(),
      type: z.string().optional(),
    })
    .optional(),
  delayMs: z.int().min(0).max(600_000).optional(),
  body: z.unknown().optional(),
  deliverOnAbort: z.boolean().optional(),
};

const FaultInputSchema = z.strictObject({
  ...FAULT_EFFECT,
  loginId: z.string().min(1).optional(),
  pageId: z.union([z.string().min(1), z.int().positive().transform(String)]).optional(),
  times: z.int().positive().default(1),
});

export type FaultInput = z.input<typeof FaultInputSchema>;

const FlakyInputSchema = z.strictObject({
  rate: z.number().min(0).max(1),
  faults: z
    .array(z.strictObject({ ...FAULT_EFFECT, weight: z.number().positive().default(1) }))
    .min(1)
    .optional(),
  seed: z.int().optional(),
});

export type FlakyInput = z.input<typeof FlakyInputSchema>;

/** The flaky setting, as `GET /_emulator/state` shows it. */
export interface Flaky {
  rate: number;
  faults: Array<Omit<Fault, 'id' | 'loginId' | 'pageId' | 'remaining'> & { weight: number }>;
  seed: number;
}

/** The issue's flaky Graph: 500 code 1 or 2, 613, or no answer for 25 s, equally likely. */
const DEFAULT_FLAKY_FAULTS: FlakyInput['faults'] = [
  { kind: 'server_error', error: { code: 1 } },
  { kind: 'server_error' },
  { kind: 'rate_limit' },
  { kind: 'hang' },
];

/** A queued fault, as `GET /_emulator/state` shows it. */
export interface Fault {
  id: number;
  kind?: FaultKind;
  loginId?: string;
  pageId?: string;
  /** How many more matching requests it applies to. */
  remaining: number;
  delayMs: number;
  deliverOnAbort: boolean;
  /** What is answered instead of processing; absent for a pure delay. */
  reply?: { status: number; error?: Omit<GraphError, 'fbtrace_id'>; body?: unknown };
}

export interface PermissionsInput {
  userId: string;
  granted?: string[];
  declined?: string[];
}

export interface RecordedMessage {
  messageId: string;
  pageId: string;
  recipient: Record<string, string>;
  messagingType: string;
  tag?: string;
  notificationType?: string;
  message: Record<string, unknown>;
  /** ISO time the emulator accepted it (its clock). */
  at: string;
  /** Absent for `user_ref` and `phone_number` recipients, as in Graph. */
  recipientId?: string;
}

export interface RecordedRequest {
  /** ISO time the request arrived (the emulator's clock). */
  at: string;
  method: string;
  /** Path only: the query string can hold the token and proof. */
  path: string;
  pageId?: string;
  recipient?: Record<string, unknown>;
  messagingType?: string;
  /** Where the access token was found, to check that a client keeps it out of URLs. */
  tokenIn?: 'body' | 'query' | 'header';
  /** HTTP status answered; 499 when the client left before the answer. */
  status: number;
  outcome: 'accepted' | 'refused' | 'fault' | 'aborted';
  error?: GraphError;
  messageId?: string;
  faultId?: number;
  /** The answer was drawn by the flaky setting. */
  flaky?: true;
}

/** Graph's usage numbers, as its headers spell them (percentages; the estimate in minutes). */
export interface UsageNumbers {
  type?: string;
  call_count?: number;
  total_cputime?: number;
  total_time?: number;
  estimated_time_to_regain_access?: number;
}

export interface UsageInput {
  pageId?: string | number;
  app?: UsageNumbers;
  business?: UsageNumbers;
}

/** The app's subscription to one Page's webhooks. */
export interface Subscription {
  pageId: string;
  /** Empty: not subscribed. */
  fields: string[];
  /** POST subscribed_apps with the Page token is refused (it lacks pages_manage_metadata). */
  refuseSubscribe: boolean;
}

export interface SubscriptionInput {
  pageId: string | number;
  fields?: string[];
  refuseSubscribe?: boolean;
}

export interface Restriction {
  pageId: string;
  /** Epoch ms the restriction ends; absent: until cleared. */
  untilMs?: number;
}

export interface EmulatorState {
  optins: Optin[];
  locks: { loginId: string; pageId: string; lockedAt: number }[];
  optouts: Optout[];
  userMessages: UserMessage[];
  psids: KnownPsid[];
  faults: Fault[];
  flaky: Flaky | null;
  permissions: Required<PermissionsInput>[];
  restrictions: Restriction[];
  /** How many tokens were revoked per Page (the tokens themselves never appear). */
  revokedTokens: { pageId: string; count: number }[];
  usage: { app?: UsageNumbers; pages: { pageId: string; business: UsageNumbers }[] };
  subscriptions: Subscription[];
}

/** Thrown by the in-process accessors for invalid input; the control API answers 400. */
export class EmulatorInputError extends Error {
  override name = 'EmulatorInputError';
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

const RECIPIENT_KEYS = [
  'id',
  'login_id',
  'user_ref',
  'notification_messages_token',
  'one_time_notif_token',
  'post_id',
  'comment_id',
  'phone_number',
] as const;
const MESSAGING_TYPES = ['RESPONSE', 'UPDATE', 'MESSAGE_TAG'];
/** What every Page of the secret is subscribed to until the control API says otherwise. */
export const DEFAULT_SUBSCRIBED_FIELDS = [
  'messaging_optins',
  'messages',
  'messaging_postbacks',
  'message_deliveries',
  'message_reads',
];
/** Page webhook fields the emulator knows (a subset of Graph's; others are refused). */
const PAGE_FIELDS = new Set([
  ...DEFAULT_SUBSCRIBED_FIELDS,
  'message_echoes',
  'messaging_referrals',
  'messaging_handovers',
  'messaging_policy_enforcement',
  'messaging_account_linking',
  'message_reactions',
  'standby',
  'feed',
]);
/** The emulated Messenger app, as subscribed_apps lists it. */
const EMULATED_APP = { id: '3000000000000003', name: 'Login Connect (emulated app)' };
const NOTIFICATION_TYPES = ['REGULAR', 'SILENT_PUSH', 'NO_PUSH'];
const DEFAULT_PERMISSIONS = ['public_profile', 'user_messenger_contact'];

type ErrorFields = Omit<GraphError, 'fbtrace_id'>;
interface Refusal {
  status: number;
  error: ErrorFields;
}

function refusal(
  code: number,
  message: string,
  options: { subcode?: number; type?: string; status?: number } = {},
): Refusal {
  return {
    status: options.status ?? 400,
    error: {
      message,
      type: options.type ?? 'OAuthException',
      code,
      ...(options.subcode !== undefined ? { error_subcode: options.subcode } : {}),
    },
  };
}

/** Graph's wordings where our reference quotes them; the others are marked UNCONFIRMED. */
const REFUSE = {
  noTokenMe: () =>
    refusal(
      2500,
      'An active access token must be used to query information about the current user.',
    ),
  // Graph's answer for a node other than /me without a token.
  noToken: () => refusal(104, 'An access token is required to request this resource.'),
  badToken: () => refusal(190, 'Invalid OAuth access token - Cannot parse access token'),
  badProof: () =>
    refusal(100, 'Invalid appsecret_proof provided in the API argument', {
      type: 'GraphMethodException',
    }),
  needProof: () =>
    refusal(100, 'API calls from the server require an appsecret_proof argument', {
      type: 'GraphMethodException',
    }),
  unsupported: (method: string, node: string) =>
    refusal(
      100,
      `Unsupported ${method.toLowerCase()} request. Object with ID '${node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      { subcode: 33, type: 'GraphMethodException' },
    ),
  param: (message: string, subcode?: number) =>
    refusal(100, `(#100) ${message}`, subcode !== undefined ? { subcode } : {}),
  noUser: () => refusal(100, '(#100) No matching user found', { subcode: 2018001 }),
  // UNCONFIRMED: the reference (section 4 and 8) found no documented error for a second Page
  // messaging a locked login_id; this code and wording are ours.
  locked: () =>
    refusal(
      100,
      '(#100) This login_id can only be messaged by the Page it was first messaged through',
    ),
  window: () =>
    refusal(10, '(#10) This message is sent outside of allowed window.', { subcode: 2018278 }),
  // UNCONFIRMED wording: the FAQ forbids tags on the initial message but no error is documented.
  tagFirst: () =>
    refusal(100, '(#100) Message Tags cannot be used for the initial message to a login_id'),
  unavailable: () => refusal(551, "(#551) This person isn't available right now."),
  // Messenger changelog, 25 June 2026: 10/1893063. UNCONFIRMED wording.
  restricted: () =>
    refusal(10, '(#10) This Page is temporarily restricted from sending messages.', {
      subcode: 1893063,
    }),
  revoked: () =>
    refusal(
      190,
      'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
      { subcode: 460 },
    ),
  // UNCONFIRMED wording: a Page token without pages_manage_metadata subscribing the app.
  noSubscribePermission: () => refusal(200, '(#200) Permissions error', { status: 403 }),
};

const SERVER_ERROR: ErrorFields = {
  code: 2,
  type: 'OAuthException',
  message: 'An unexpected error has occurred. Please retry your request later.',
};

/** A fault's own error over its preset's: same code inherits the preset's wording and subcode. */
function mergeError(
  base: ErrorFields,
  given: {
    code: number;
    subcode?: number | undefined;
    message?: string | undefined;
    type?: string | undefined;
  },
): ErrorFields {
  const same = given.code === base.code;
  const subcode = given.subcode ?? (same ? base.error_subcode : undefined);
  return {
    code: given.code,
    type: given.type ?? (same ? base.type : 'OAuthException'),
    message: given.message ?? (same ? base.message : `(#${given.code}) Emulated error`),
    ...(subcode !== undefined ? { error_subcode: subcode } : {}),
  };
}

const PRESETS: Record<FaultKind, { status?: number; error?: ErrorFields; delayMs?: number }> = {
  server_error: { status: 500, error: SERVER_ERROR },
  rate_limit: {
    status: 400,
    error: {
      code: 613,
      type: 'OAuthException',
      message: '(#613) Calls to this API have exceeded the rate limit.',
    },
  },
  unavailable: { status: 400, error: REFUSE.unavailable().error },
  window_closed: { status: 400, error: REFUSE.window().error },
  token_invalid: {
    status: 400,
    error: {
      code: 190,
      error_subcode: 460,
      type: 'OAuthException',
      message:
        'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
    },
  },
  page_restricted: { status: 400, error: REFUSE.restricted().error },
  page_rate_limit: {
    status: 400,
    error: {
      code: 80001,
      type: 'OAuthException',
      message:
        '(#80001) There have been too many calls to this Page account. Wait a bit and try again.',
    },
  },
  slow: { delayMs: 5000 },
  hang: { delayMs: 25_000, status: 500, error: SERVER_ERROR },
};

/** The effect of a fault's fields: a delay, and what is answered instead of processing. */
function faultEffect(
  f: z.output<z.ZodObject<typeof FAULT_EFFECT>>,
): Pick<Fault, 'kind' | 'delayMs' | 'deliverOnAbort' | 'reply'> {
  const preset = f.kind ? PRESETS[f.kind] : {};
  const delayMs = f.delayMs ?? preset.delayMs ?? 0;
  // A pure delay (kind `slow`, or `delayMs` alone) processes normally afterwards; anything
  // else answers instead, a server_error unless told otherwise.
  const passThrough =
    f.status === undefined &&
    f.error === undefined &&
    f.body === undefined &&
    preset.error === undefined &&
    (f.kind !== undefined || f.delayMs !== undefined);
  let reply: Fault['reply'];
  if (!passThrough) {
    const base = preset.error ?? SERVER_ERROR;
    let error: ErrorFields | undefined;
    if (f.body === undefined) error = f.error ? mergeError(base, f.error) : base;
    const status =
      f.status ?? preset.status ?? (!error || error.code === 1 || error.code === 2 ? 500 : 400);
    reply = {
      status,
      ...(error ? { error } : {}),
      ...(f.body !== undefined ? { body: f.body } : {}),
    };
  }
  return {
    ...(f.kind ? { kind: f.kind } : {}),
    delayMs,
    deliverOnAbort: f.deliverOnAbort ?? false,
    ...(reply ? { reply } : {}),
  };
}

/** mulberry32: a small seeded generator, so a flaky run can be repeated draw for draw. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OptinInputSchema = z.strictObject({
  loginId: z.string().min(1),
  pageId: z.union([z.string().min(1), z.int().positive().transform(String)]),
  timestamp: z.int().nonnegative().optional(),
});

const PageIdSchema = z.union([z.string().min(1), z.int().positive().transform(String)]);
const PsidSchema = z.union([
  z.string().regex(/^\d+$/, 'must be a string of digits'),
  z.int().positive().transform(String),
]);

const OptoutInputSchema = z
  .strictObject({
    loginId: z.string().min(1).optional(),
    psid: PsidSchema.optional(),
    pageId: PageIdSchema.optional(),
  })
  .refine((o) => (o.loginId === undefined) !== (o.psid === undefined), {
    message: 'needs exactly one of loginId, psid',
  });

const UserMessageInputSchema = z.strictObject({
  psid: PsidSchema,
  pageId: PageIdSchema,
  timestamp: z.int().nonnegative().optional(),
});

const UsageNumbersSchema = z.strictObject({
  type: z.string().min(1).max(64).optional(),
  call_count: z.number().min(0).optional(),
  total_cputime: z.number().min(0).optional(),
  total_time: z.number().min(0).optional(),
  estimated_time_to_regain_access: z.number().min(0).optional(),
});
const UsageInputSchema = z
  .strictObject({
    pageId: PageIdSchema.optional(),
    app: UsageNumbersSchema.optional(),
    business: UsageNumbersSchema.optional(),
  })
  .refine((u) => u.business === undefined || u.pageId !== undefined, {
    message: 'business needs pageId',
  });
const RestrictionInputSchema = z.strictObject({
  pageId: PageIdSchema,
  untilMs: z.int().nonnegative().optional(),
});
const PageOnlySchema = z.strictObject({ pageId: PageIdSchema });
const SubscriptionInputSchema = z.strictObject({
  pageId: PageIdSchema,
  fields: z.array(z.string().min(1)).optional(),
  refuseSubscribe: z.boolean().optional(),
});
const DropInputSchema = z.strictObject({
  pageId: PageIdSchema,
  refuseSubscribe: z.boolean().optional(),
});

const PermissionsInputSchema = z.strictObject({
  userId: z.union([z.string().min(1), z.int().positive().transform(String)]),
  granted: z.array(z.string().min(1)).default(DEFAULT_PERMISSIONS),
  declined: z.array(z.string().min(1)).default([]),
});

function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new EmulatorInputError(`Invalid ${what}:\n${formatIssues(what, result.error.issues)}`);
  }
  return result.data;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** hex HMAC-SHA256(appSecret, token), computed here rather than imported from our client, so
 * that a bug in the client's computation cannot be mirrored by the emulator. */
function expectedProof(token: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}

/** A page-scoped id that looks like a PSID (16 digits, no leading zero) and is stable across runs. */
function fakePsid(pageId: string, key: string): string {
  const hash = createHash('sha256').update(`${pageId}:${key}`).digest('hex');
  const n = BigInt(`0x${hash.slice(0, 16)}`);
  return (10n ** 15n + (n % (9n * 10n ** 15n))).toString();
}

/** The PSID answered as recipient_id for a login_id sent to through a Page. */
const linkedPsid = (pageId: string, loginId: string) => fakePsid(pageId, `login_id:${loginId}`);

/** Map key of a (Page, PSID) pair: PSIDs are Page-scoped. */
const psidKey = (pageId: string, psid: string) => `${pageId}/${psid}`;

const fbtraceId = () => randomBytes(8).toString('base64url');
/** What the emulator keeps of a revoked token. */
const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The Page token, from the first place that has one: body, query, then an `Authorization`
 * header. UNCONFIRMED for Messenger: the Bearer header (documented for the same host by the
 * WhatsApp Cloud API), accepted to be liberal.
 */
function findToken(
  body: Record<string, unknown>,
  query: Record<string, unknown>,
  header: string | undefined,
): { token: string; tokenIn: 'body' | 'query' | 'header' } | undefined {
  if (typeof body.access_token === 'string' && body.access_token !== '') {
    return { token: body.access_token, tokenIn: 'body' };
  }
  if (typeof query.access_token === 'string' && query.access_token !== '') {
    return { token: query.access_token, tokenIn: 'query' };
  }
  const bearer = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(header ?? '');
  if (bearer?.[1]) return { token: bearer[1], tokenIn: 'header' };
  return undefined;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A form or query field: JSON when it looks like JSON (Graph decodes `recipient={"id":"1"}`). */
function decodeField(value: string): unknown {
  if (/^\s*[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** Sets `recipient[login_id]=x` as `{ recipient: { login_id: 'x' } }`, as Graph's form parser does. */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
  const parts = match
    ? [match[1] ?? '', ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? '')]
    : [key];
  if (parts.some((p) => UNSAFE_KEYS.has(p))) return;
  let node = target;
  for (const [i, part] of parts.entries()) {
    const name = part === '' ? String(Object.keys(node).length) : part;
    if (i === parts.length - 1) {
      node[name] = value;
      return;
    }
    const next = node[name];
    if (isRecord(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[name] = created;
      node = created;
    }
  }
}

/** Objects built from `quick_replies[0][title]` fields become arrays. */
function arraysFromIndexes(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = arraysFromIndexes(value[k]);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => out[k]);
  return out;
}

function fieldsFrom(entries: Iterable<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let bracketed = false;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') continue; // file parts: attachment uploads are not emulated
    bracketed ||= key.includes('[');
    setField(out, key, decodeField(value));
  }
  return bracketed ? (arraysFromIndexes(out) as Record<string, unknown>) : out;
}

class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep draining so the answer can still be written; just stop keeping the bytes.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      size > MAX_BODY_BYTES
        ? reject(new BodyError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`))
        : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/** JSON, form-encoded or multipart parameters of a Graph request. */
async function bodyParams(
  raw: Buffer,
  contentType: string | undefined,
): Promise<Record<string, unknown>> {
  const type = (contentType ?? '').toLowerCase();
  const text = raw.toString('utf8');
  const isForm = type.includes('application/x-www-form-urlencoded');
  if (type.includes('multipart/form-data') || isForm) {
    try {
      const form = await new Response(new Uint8Array(raw), {
        headers: { 'content-type': contentType ?? '' },
      }).formData();
      return fieldsFrom(form.entries());
    } catch {
      throw new BodyError(400, 'The request body is not a valid form');
    }
  }
  if (text.trim() === '') return {};
  // JSON declared, or undeclared (`fetch` with a string body says text/plain) and looking like it.
  if (type.includes('json') || /^\s*\{/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // UNCONFIRMED wording: Graph's answer to malformed JSON is not in our reference.
      throw new BodyError(400, 'The request body is not valid JSON');
    }
    if (!isRecord(parsed)) throw new BodyError(400, 'The request body must be a JSON object');
    return parsed;
  }
  return fieldsFrom(new URLSearchParams(text).entries());
}

/** `message[quick_replies][0][title]`, the way Graph names nested params. */
const paramName = (root: string, path: readonly PropertyKey[]) =>
  root + path.map((p) => `[${String(p)}]`).join('');

/** Our MessageSchema's first issue, worded like Graph's (#100) param errors. */
function messageRefusal(issues: readonly z.core.$ZodIssue[]): Refusal {
  const issue = issues[0];
  if (!issue) return REFUSE.param('Param message is invalid');
  const name = paramName('message', issue.path);
  if (issue.code === 'unrecognized_keys') {
    return REFUSE.param(`Param ${name}[${issue.keys[0] ?? ''}] is not a valid parameter`);
  }
  const max = /^must be at most (\d+) characters$/.exec(issue.message);
  if (max) return REFUSE.param(`Length of param ${name} must be less than or equal to ${max[1]}`);
  if (
    (issue.path.length === 0 && issue.message.startsWith('needs exactly one of text')) ||
    (issue.path.length === 1 && issue.path[0] === 'text' && issue.message === 'must not be empty')
  ) {
    // 100/2018034 per the reference; an empty message has neither text nor attachment.
    return REFUSE.param('Message cannot be empty, must provide valid attachment or text', 2018034);
  }
  const separator = /^[a-z]/.test(issue.message) ? ' ' : ': ';
  return REFUSE.param(`Param ${name}${separator}${issue.message}`);
}

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

/** Graph's recipient object: exactly one known key, a non-empty string (ids may be numbers). */
function readRecipient(value: unknown): { recipient: Record<string, string> } | Refusal {
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

/**
 * The emulator. `start()` listens; the methods mirror the control API for in-process use.
 */
export class GraphEmulator {
  private readonly server: Server;
  private readonly now: () => number;
  private readonly requireProof: boolean;
  private readonly secrets: GraphEmulatorOptions['secrets'];
  private readonly onRequest: GraphEmulatorOptions['onRequest'];
  private readonly optins = new Map<string, Optin>();
  private optouts: Optout[] = [];
  /** By psidKey: the latest user message of each PSID to each Page. */
  private readonly userMessages = new Map<string, UserMessage>();
  /** By psidKey: the PSIDs each Page knows. */
  private readonly psids = new Map<string, KnownPsid>();
  private faults: Fault[] = [];
  private flaky: { setting: Flaky; random: () => number } | undefined;
  private sent: RecordedMessage[] = [];
  private seen: RecordedRequest[] = [];
  private readonly permissions = new Map<string, Required<PermissionsInput>>();
  private readonly restrictions = new Map<string, Restriction>();
  /** By Page: SHA-256 of each revoked token (never the token). */
  private readonly revoked = new Map<string, Set<string>>();
  private appUsage: UsageNumbers | undefined;
  private readonly pageUsage = new Map<string, UsageNumbers>();
  /** Pages whose subscription the control API set; the others have the default one. */
  private readonly subscriptions = new Map<string, Subscription>();
  private nextFaultId = 1;
  private closed = false;

  private constructor(options: GraphEmulatorOptions) {
    this.now = options.now ?? Date.now;
    this.requireProof = options.requireAppSecretProof ?? true;
    this.secrets = options.secrets;
    this.onRequest = options.onRequest;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (res.headersSent) res.destroy();
        else writeGraphError(res, refusal(1, `Graph emulator error: ${message}`, { status: 500 }));
      });
    });
  }

  /** Starts listening; rejects if the host is not loopback or the port is taken. */
  static async start(options: GraphEmulatorOptions): Promise<GraphEmulator> {
    const host = options.host ?? '127.0.0.1';
    if (!LOOPBACK.test(host)) {
      throw new EmulatorInputError(`The Graph emulator only listens on loopback, not on ${host}`);
    }
    const emulator = new GraphEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(options.port ?? 0, host, () => {
        emulator.server.off('error', reject);
        resolve();
      });
    });
    return emulator;
  }

  /** e.g. `http://127.0.0.1:3001`, without a trailing slash. */
  get url(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('The emulator is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops listening and drops open connections; pending delayed requests are discarded. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  /** Registers (or re-registers, clearing the lock) an opt-in, as a `messaging_optins` does. */
  registerOptin(input: OptinInput): Optin {
    const { loginId, pageId, timestamp } = parseInput(OptinInputSchema, input, 'optin');
    const optedInAt = timestamp ?? this.now();
    const optin: Optin = { loginId, pageId, optedInAt, windowClosesAt: optedInAt + DAY_MS };
    this.optins.set(loginId, optin);
    return { ...optin };
  }

  /**
   * The person turns off messages (from one Page, or all Pages): later sends to that login_id or
   * PSID, and to the identifier linked to it, get code 551.
   */
  registerOptout(input: OptoutInput): Optout {
    const { loginId, psid, pageId } = parseInput(OptoutInputSchema, input, 'optout');
    const who = loginId !== undefined ? { loginId } : { psid: psid ?? '' };
    const optout: Optout = { ...who, ...(pageId !== undefined ? { pageId } : {}) };
    this.optouts.push(optout);
    return { ...optout };
  }

  /**
   * The person sent a message to the Page: the PSID becomes known to it and may get UPDATE and
   * RESPONSE messages for 24 h from the latest such message (an older one does not move it back).
   */
  registerUserMessage(input: UserMessageInput): UserMessage {
    const { psid, pageId, timestamp } = parseInput(UserMessageInputSchema, input, 'userMessage');
    const at = timestamp ?? this.now();
    const key = psidKey(pageId, psid);
    const previous = this.userMessages.get(key);
    const lastMessageAt = Math.max(at, previous?.lastMessageAt ?? at);
    const entry: UserMessage = {
      psid,
      pageId,
      lastMessageAt,
      windowClosesAt: lastMessageAt + DAY_MS,
    };
    this.userMessages.set(key, entry);
    if (!this.psids.has(key)) this.psids.set(key, { psid, pageId });
    return { ...entry };
  }

  /** Queues a fault for the next matching send request(s); see the file comment. */
  addFault(input: FaultInput): Fault {
    const f = parseInput(FaultInputSchema, input, 'fault');
    const fault: Fault = {
      id: this.nextFaultId++,
      ...(f.loginId ? { loginId: f.loginId } : {}),
      ...(f.pageId ? { pageId: f.pageId } : {}),
      remaining: f.times,
      ...faultEffect(f),
    };
    this.faults.push(fault);
    return structuredClone(fault);
  }

  /**
   * From now on, a share `rate` of the send requests meets one of `faults` (see the file
   * comment); replaces an earlier setting.
   */
  setFlaky(input: FlakyInput): Flaky {
    const f = parseInput(FlakyInputSchema, input, 'flaky');
    const faults =
      f.faults ??
      parseInput(FlakyInputSchema, { rate: 0, faults: DEFAULT_FLAKY_FAULTS }, '').faults;
    const seed = f.seed ?? randomBytes(4).readInt32LE(0);
    const setting: Flaky = {
      rate: f.rate,
      faults: (faults ?? []).map(({ weight, ...effect }) => ({ weight, ...faultEffect(effect) })),
      seed,
    };
    this.flaky = { setting, random: seededRandom(seed) };
    return structuredClone(setting);
  }

  /** Turns the flaky setting off; true when one was on. */
  clearFlaky(): boolean {
    const was = this.flaky !== undefined;
    this.flaky = undefined;
    return was;
  }

  /** Drops every pending fault; returns how many there were. */
  clearFaults(): number {
    const cleared = this.faults.length;
    this.faults = [];
    return cleared;
  }

  /** What `GET /{version}/{userId}/permissions` answers for this user. */
  setPermissions(input: PermissionsInput): Required<PermissionsInput> {
    const entry = parseInput(PermissionsInputSchema, input, 'permissions');
    this.permissions.set(entry.userId, entry);
    return structuredClone(entry);
  }

  /** Meta restricts the Page from sending, until `untilMs` or until cleared. */
  restrictPage(input: { pageId: string | number; untilMs?: number }): Restriction {
    const { pageId, untilMs } = parseInput(RestrictionInputSchema, input, 'restriction');
    const restriction: Restriction = { pageId, ...(untilMs !== undefined ? { untilMs } : {}) };
    this.restrictions.set(pageId, restriction);
    return { ...restriction };
  }

  /** Lifts the restriction of one Page, or of every Page; returns how many were lifted. */
  clearRestrictions(pageId?: string): number {
    if (pageId === undefined) {
      const cleared = this.restrictions.size;
      this.restrictions.clear();
      return cleared;
    }
    return this.restrictions.delete(pageId) ? 1 : 0;
  }

  /** Revokes the token the secret holds for the Page now: every call with it gets 190/460. */
  async revokeToken(input: {
    pageId: string | number;
  }): Promise<{ pageId: string; revoked: true }> {
    const { pageId } = parseInput(PageOnlySchema, input, 'revokedToken');
    const token = (await this.secrets()).pages[pageId]?.accessToken;
    if (token === undefined)
      throw new EmulatorInputError(`No token for Page ${pageId} in the secret`);
    const set = this.revoked.get(pageId) ?? new Set<string>();
    set.add(tokenDigest(token));
    this.revoked.set(pageId, set);
    return { pageId, revoked: true };
  }

  clearRevokedTokens(): number {
    const cleared = [...this.revoked.values()].reduce((n, set) => n + set.size, 0);
    this.revoked.clear();
    return cleared;
  }

  /** What the usage headers say from now on (for one Page's Business Use Case entry, the app's). */
  setUsage(input: UsageInput): EmulatorState['usage'] {
    const { pageId, app, business } = parseInput(UsageInputSchema, input, 'usage');
    if (app !== undefined) this.appUsage = app;
    if (business !== undefined && pageId !== undefined) this.pageUsage.set(pageId, business);
    return this.state().usage;
  }

  clearUsage(): number {
    const cleared = this.pageUsage.size + (this.appUsage ? 1 : 0);
    this.appUsage = undefined;
    this.pageUsage.clear();
    return cleared;
  }

  /** Sets the app's subscription to a Page's webhooks (see the file comment). */
  setSubscription(input: SubscriptionInput): Subscription {
    const { pageId, fields, refuseSubscribe } = parseInput(
      SubscriptionInputSchema,
      input,
      'subscription',
    );
    const subscription: Subscription = {
      pageId,
      fields: [...new Set(fields ?? DEFAULT_SUBSCRIBED_FIELDS)],
      refuseSubscribe: refuseSubscribe ?? false,
    };
    this.subscriptions.set(pageId, subscription);
    return structuredClone(subscription);
  }

  /** Facebook unsubscribes the app from the Page (its webhooks failed for too long). */
  dropSubscription(input: { pageId: string | number; refuseSubscribe?: boolean }): Subscription {
    const { pageId, refuseSubscribe } = parseInput(DropInputSchema, input, 'drop');
    return this.setSubscription({ pageId, fields: [], refuseSubscribe: refuseSubscribe ?? false });
  }

  /** The app's subscription to the Page's webhooks now. */
  subscription(pageId: string): Subscription {
    return structuredClone(
      this.subscriptions.get(pageId) ?? {
        pageId,
        fields: DEFAULT_SUBSCRIBED_FIELDS,
        refuseSubscribe: false,
      },
    );
  }

  /**
   * Accepted messages, oldest first, optionally for one login_id, one PSID (sends to
   * `recipient.id` only) and/or one Page.
   */
  messages(filter: { loginId?: string; psid?: string; pageId?: string } = {}): RecordedMessage[] {
    return structuredClone(
      this.sent.filter(
        (m) =>
          (filter.loginId === undefined || m.recipient.login_id === filter.loginId) &&
          (filter.psid === undefined || m.recipient.id === filter.psid) &&
          (filter.pageId === undefined || m.pageId === filter.pageId),
      ),
    );
  }

  /** Every send request seen, oldest first, without tokens or proofs. */
  requests(): RecordedRequest[] {
    return structuredClone(this.seen);
  }

  state(): EmulatorState {
    const optins = [...this.optins.values()];
    return structuredClone({
      optins,
      locks: optins.flatMap((o) =>
        o.lockedAt === undefined
          ? []
          : [{ loginId: o.loginId, pageId: o.pageId, lockedAt: o.lockedAt }],
      ),
      optouts: this.optouts,
      userMessages: [...this.userMessages.values()],
      psids: [...this.psids.values()],
      faults: this.faults,
      flaky: this.flaky?.setting ?? null,
      permissions: [...this.permissions.values()],
      restrictions: [...this.restrictions.values()],
      revokedTokens: [...this.revoked].map(([pageId, set]) => ({ pageId, count: set.size })),
      usage: {
        ...(this.appUsage ? { app: this.appUsage } : {}),
        pages: [...this.pageUsage].map(([pageId, business]) => ({ pageId, business })),
      },
      subscriptions: [...this.subscriptions.values()],
    });
  }

  /**
   * Forgets opt-ins, locks, opt-outs, user messages, known PSIDs, faults, the flaky setting,
   * permissions, records.
   */
  reset(): void {
    this.optins.clear();
    this.optouts = [];
    this.userMessages.clear();
    this.psids.clear();
    this.faults = [];
    this.flaky = undefined;
    this.sent = [];
    this.seen = [];
    this.permissions.clear();
    this.restrictions.clear();
    this.revoked.clear();
    this.appUsage = undefined;
    this.pageUsage.clear();
    this.subscriptions.clear();
  }

  /** Graph's usage headers for an answer to a call with this Page's token. */
  private usageHeaders(pageId: string): Record<string, string> {
    const zero = { call_count: 0, total_cputime: 0, total_time: 0 };
    return {
      'x-app-usage': JSON.stringify(this.appUsage ?? zero),
      'x-business-use-case-usage': JSON.stringify({
        [pageId]: [
          this.pageUsage.get(pageId) ?? {
            type: 'messenger',
            ...zero,
            estimated_time_to_regain_access: 0,
          },
        ],
      }),
    };
  }

  private isRevoked(pageId: string, token: string): boolean {
    return this.revoked.get(pageId)?.has(tokenDigest(token)) ?? false;
  }

  private isRestricted(pageId: string): boolean {
    const restriction = this.restrictions.get(pageId);
    if (restriction === undefined) return false;
    if (restriction.untilMs !== undefined && this.now() >= restriction.untilMs) {
      this.restrictions.delete(pageId);
      return false;
    }
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      await this.handleControl(req, res, path, url.searchParams);
      return;
    }
    const route = /^\/(v\d+\.\d+)\/([^/]+)\/(messages|permissions|subscribed_apps)$/.exec(path);
    if (!route) {
      req.resume();
      // Graph answers unknown paths with a 400 or 404 and code 100/803/2500 depending on which
      // part is unknown; one answer is enough here, and it lists what is served.
      writeGraphError(
        res,
        refusal(
          100,
          `(#100) Unknown path components: ${path} (the emulator serves POST /{version}/me/messages, POST /{version}/{page-id}/messages, GET /{version}/{user-id}/permissions and GET/POST /{version}/{page-id}/subscribed_apps)`,
          { status: 404 },
        ),
      );
      return;
    }
    const node = route[2] ?? '';
    const query = fieldsFrom(url.searchParams.entries());
    if (route[3] === 'permissions') {
      req.resume();
      await this.handlePermissions(req, res, node, query);
      return;
    }
    if (route[3] === 'subscribed_apps') {
      await this.handleSubscribedApps(req, res, path, node, query);
      return;
    }
    await this.handleSend(req, res, path, node, query);
  }

  private async handleSend(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    node: string,
    query: Record<string, unknown>,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const entry: RecordedRequest = {
      at: iso(this.now()),
      method,
      path,
      status: 0,
      outcome: 'refused',
    };
    const finish = (
      status: number,
      outcome: RecordedRequest['outcome'],
      body: unknown,
      error?: ErrorFields,
      contentType?: string,
    ) => {
      entry.status = status;
      entry.outcome = outcome;
      if (outcome !== 'aborted') {
        const traced = error ? { ...error, fbtrace_id: fbtraceId() } : undefined;
        if (traced) entry.error = traced;
        writeJson(
          res,
          status,
          traced ? { error: traced } : body,
          contentType,
          traced?.fbtrace_id,
          entry.pageId !== undefined ? this.usageHeaders(entry.pageId) : {},
        );
      }
      this.seen.push(entry);
      this.onRequest?.(structuredClone(entry));
    };
    const refuse = (r: Refusal) => finish(r.status, 'refused', undefined, r.error);

    let body: Record<string, unknown>;
    try {
      body = await bodyParams(await readBody(req), req.headers['content-type']);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      refuse(refusal(100, `(#100) ${error.message}`, { status: error.status }));
      return;
    }
    // Graph reads parameters from both; the body wins where both have one.
    const params = { ...query, ...body };
    const rawRecipient = isRecord(params.recipient) ? params.recipient : undefined;
    if (rawRecipient) entry.recipient = redactRecipient(rawRecipient);
    if (typeof params.messaging_type === 'string') entry.messagingType = params.messaging_type;

    if (method !== 'POST') return refuse(REFUSE.unsupported(method, node));
    let secrets: AppSecrets;
    try {
      secrets = await this.secrets();
    } catch (error) {
      // A half-edited secret file: answer like a Graph outage (code 1, retryable) and say why.
      const why = error instanceof Error ? error.message : String(error);
      return refuse(refusal(1, `Graph emulator cannot read the secrets: ${why}`, { status: 500 }));
    }

    // Credentials first, as Graph authenticates before it reads parameters.
    const found = findToken(body, query, req.headers.authorization);
    if (!found) return refuse(node === 'me' ? REFUSE.noTokenMe() : REFUSE.noToken());
    entry.tokenIn = found.tokenIn;
    const pageId = Object.entries(secrets.pages).find(
      ([, page]) => page.accessToken === found.token,
    )?.[0];
    if (pageId === undefined) return refuse(REFUSE.badToken());
    if (this.isRevoked(pageId, found.token)) return refuse(REFUSE.revoked());
    entry.pageId = pageId;
    const proof = params.appsecret_proof;
    if (proof === undefined || proof === '') {
      if (this.requireProof) return refuse(REFUSE.needProof());
    } else if (
      typeof proof !== 'string' ||
      proof.toLowerCase() !== expectedProof(found.token, secrets.appSecret)
    ) {
      return refuse(REFUSE.badProof());
    }
    if (node !== 'me' && node !== pageId) return refuse(REFUSE.unsupported(method, node));

    const loginId = typeof rawRecipient?.login_id === 'string' ? rawRecipient.login_id : undefined;
    const queued = this.takeFault(pageId, loginId);
    const fault = queued ?? this.drawFlaky();
    if (queued) entry.faultId = queued.id;
    else if (fault) entry.flaky = true;
    if (fault && fault.delayMs > 0) {
      const connected = await waitWhileConnected(res, fault.delayMs);
      if (!connected) {
        // The client gave up: by default nothing was delivered, so a retry is the one message
        // our end-to-end test expects. `deliverOnAbort` models Graph delivering anyway.
        if (fault.deliverOnAbort && !fault.reply) {
          const plan = this.plan(pageId, params);
          if (!('error' in plan)) entry.messageId = this.commit(pageId, plan).messageId;
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

    if (this.isRestricted(pageId)) return refuse(REFUSE.restricted());

    // From here to the write everything is synchronous: no other request can interleave, and the
    // message only counts once the answer is handed to a client that is still there.
    const plan = this.plan(pageId, params);
    if ('error' in plan) return refuse(plan);
    if (!isConnected(res)) {
      finish(499, 'aborted', undefined);
      return;
    }
    const recorded = this.commit(pageId, plan);
    entry.messageId = recorded.messageId;
    finish(200, 'accepted', {
      ...(recorded.recipientId !== undefined ? { recipient_id: recorded.recipientId } : {}),
      message_id: recorded.messageId,
    });
  }

  /** Validates a send against the parameters and the Login Connect rules, without side effects. */
  private plan(pageId: string, params: Record<string, unknown>): SendPlan | Refusal {
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
      return REFUSE.param(
        `Param messaging_type must be one of {${MESSAGING_TYPES.join(', ')}} - got "${String(messagingType)}"`,
      );
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
    const tagRule =
      messagingType === 'MESSAGE_TAG' ? tagInForce(String(tag), this.now()) : undefined;
    if (tagRule && !tagRule.ok) return REFUSE.param('Invalid parameter');
    const notificationType = params.notification_type;
    if (
      notificationType !== undefined &&
      (typeof notificationType !== 'string' || !NOTIFICATION_TYPES.includes(notificationType))
    ) {
      return REFUSE.param(
        `Param notification_type must be one of {${NOTIFICATION_TYPES.join(', ')}} - got "${String(notificationType)}"`,
      );
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
    const psid = recipient.id;
    if (psid !== undefined) {
      if (this.optedOut(pageId, { psid })) return REFUSE.unavailable();
      if (!this.psids.has(psidKey(pageId, psid))) return REFUSE.noUser();
      if (messagingType !== 'MESSAGE_TAG' && !this.windowOpen(pageId, psid)) {
        return REFUSE.window();
      }
      if (tagRule?.ok && !this.tagWindowOpen(tagRule.rule, pageId, psid)) return REFUSE.window();
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
    if (this.optedOut(pageId, { loginId, psid: linked })) return REFUSE.unavailable();
    const optin = this.optins.get(loginId);
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
      this.now() > optin.windowClosesAt &&
      (firstMessage || !this.windowOpen(pageId, linked))
    ) {
      return REFUSE.window();
    }
    if (tagRule?.ok && !this.tagWindowOpen(tagRule.rule, pageId, linked)) return REFUSE.window();
    return { ...base, loginId, recipientId: linked, firstMessage };
  }

  /** A tag with a window (HUMAN_AGENT: 7 days) counts it from the person's last message. */
  private tagWindowOpen(rule: TagRule, pageId: string, psid: string): boolean {
    if (rule.windowMs === undefined) return true;
    const last = this.userMessages.get(psidKey(pageId, psid));
    return last !== undefined && this.now() < last.lastMessageAt + rule.windowMs;
  }

  /**
   * The person turned off messages from this Page: an opt-out names them by login_id or PSID, and
   * a login_id and its linked PSID are the same person (the same thread).
   */
  private optedOut(pageId: string, who: { loginId?: string; psid: string }): boolean {
    return this.optouts.some(
      (o) =>
        (o.pageId ?? pageId) === pageId &&
        (o.loginId !== undefined
          ? o.loginId === who.loginId || linkedPsid(pageId, o.loginId) === who.psid
          : o.psid === who.psid),
    );
  }

  /** The person's 24 h window from their last message to this Page is open now. */
  private windowOpen(pageId: string, psid: string): boolean {
    const last = this.userMessages.get(psidKey(pageId, psid));
    return last !== undefined && this.now() <= last.windowClosesAt;
  }

  private commit(pageId: string, plan: SendPlan): RecordedMessage {
    const at = this.now();
    if (plan.loginId !== undefined && plan.firstMessage) {
      const optin = this.optins.get(plan.loginId);
      if (optin) optin.lockedAt = at;
    }
    if (plan.loginId !== undefined && plan.recipientId !== undefined) {
      // The Page now knows the person behind the login_id under this PSID.
      const psid = plan.recipientId;
      this.psids.set(psidKey(pageId, psid), { psid, pageId, loginId: plan.loginId });
    }
    const recorded: RecordedMessage = {
      messageId: `m_${randomBytes(24).toString('base64url')}`,
      pageId,
      recipient: plan.recipient,
      messagingType: plan.messagingType,
      ...(plan.tag !== undefined ? { tag: plan.tag } : {}),
      ...(plan.notificationType !== undefined ? { notificationType: plan.notificationType } : {}),
      message: plan.message,
      at: iso(at),
      ...(plan.recipientId !== undefined ? { recipientId: plan.recipientId } : {}),
    };
    this.sent.push(recorded);
    return recorded;
  }

  /** With the flaky setting's probability, one of its faults, drawn by weight. */
  private drawFlaky(): Pick<Fault, 'delayMs' | 'deliverOnAbort' | 'reply'> | undefined {
    if (!this.flaky) return undefined;
    const { setting, random } = this.flaky;
    if (random() >= setting.rate) return undefined;
    const total = setting.faults.reduce((sum, f) => sum + f.weight, 0);
    let pick = random() * total;
    for (const fault of setting.faults) {
      pick -= fault.weight;
      if (pick < 0) return fault;
    }
    return setting.faults.at(-1);
  }

  /** The first pending fault matching this request, consumed by one. */
  private takeFault(pageId: string, loginId: string | undefined): Fault | undefined {
    const index = this.faults.findIndex(
      (f) =>
        (f.pageId === undefined || f.pageId === pageId) &&
        (f.loginId === undefined || f.loginId === loginId),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return structuredClone(fault);
  }

  private async handlePermissions(
    req: IncomingMessage,
    res: ServerResponse,
    node: string,
    query: Record<string, unknown>,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET') return writeGraphError(res, REFUSE.unsupported(method, node));
    // Any user token is accepted: the emulator cannot tell real user tokens from fake ones, and
    // appsecret_proof is not required here (liberal; a proof that is present must be right).
    const found = findToken({}, query, req.headers.authorization);
    if (!found) return writeGraphError(res, node === 'me' ? REFUSE.noTokenMe() : REFUSE.noToken());
    const proof = query.appsecret_proof;
    if (proof !== undefined) {
      const secrets = await this.secrets();
      if (
        typeof proof !== 'string' ||
        proof.toLowerCase() !== expectedProof(found.token, secrets.appSecret)
      ) {
        return writeGraphError(res, REFUSE.badProof());
      }
    }
    const entry = this.permissions.get(node);
    const granted = entry?.granted ?? DEFAULT_PERMISSIONS;
    const declined = entry?.declined ?? [];
    writeJson(res, 200, {
      data: [
        ...granted.map((permission) => ({ permission, status: 'granted' })),
        ...declined.map((permission) => ({ permission, status: 'declined' })),
      ],
    });
  }

  /** GET/POST /{version}/{page-id}/subscribed_apps with the Page's own token. */
  private async handleSubscribedApps(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    node: string,
    query: Record<string, unknown>,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const entry: RecordedRequest = {
      at: iso(this.now()),
      method,
      path,
      status: 0,
      outcome: 'refused',
    };
    const answer = (status: number, body: unknown, error?: ErrorFields) => {
      const traced = error ? { ...error, fbtrace_id: fbtraceId() } : undefined;
      entry.status = status;
      entry.outcome = traced ? 'refused' : 'accepted';
      if (traced) entry.error = traced;
      writeJson(
        res,
        status,
        traced ? { error: traced } : body,
        undefined,
        traced?.fbtrace_id,
        entry.pageId !== undefined ? this.usageHeaders(entry.pageId) : {},
      );
      this.seen.push(entry);
      this.onRequest?.(structuredClone(entry));
    };
    const refuse = (r: Refusal) => answer(r.status, undefined, r.error);

    let body: Record<string, unknown>;
    try {
      body = await bodyParams(await readBody(req), req.headers['content-type']);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      return refuse(refusal(100, `(#100) ${error.message}`, { status: error.status }));
    }
    if (method !== 'GET' && method !== 'POST') return refuse(REFUSE.unsupported(method, node));
    const params = { ...query, ...body };
    const secrets = await this.secrets();
    const found = findToken(body, query, req.headers.authorization);
    if (!found) return refuse(REFUSE.noToken());
    entry.tokenIn = found.tokenIn;
    const pageId = Object.entries(secrets.pages).find(
      ([, page]) => page.accessToken === found.token,
    )?.[0];
    if (pageId === undefined) return refuse(REFUSE.badToken());
    if (this.isRevoked(pageId, found.token)) return refuse(REFUSE.revoked());
    entry.pageId = pageId;
    const proof = params.appsecret_proof;
    if (proof === undefined || proof === '') {
      if (this.requireProof) return refuse(REFUSE.needProof());
    } else if (
      typeof proof !== 'string' ||
      proof.toLowerCase() !== expectedProof(found.token, secrets.appSecret)
    ) {
      return refuse(REFUSE.badProof());
    }
    // A Page token speaks for its own Page only.
    if (node !== pageId) return refuse(REFUSE.unsupported(method, node));

    const current = this.subscription(pageId);
    if (method === 'GET') {
      return answer(200, {
        data:
          current.fields.length === 0
            ? []
            : [
                {
                  category: 'Business',
                  link: `https://www.facebook.com/games/?app_id=${EMULATED_APP.id}`,
                  name: EMULATED_APP.name,
                  id: EMULATED_APP.id,
                  subscribed_fields: current.fields,
                },
              ],
      });
    }
    const raw = params.subscribed_fields;
    const fields = Array.isArray(raw)
      ? raw
      : typeof raw === 'string'
        ? raw.split(',').map((f) => f.trim())
        : undefined;
    if (fields === undefined || fields.length === 0 || fields.every((f) => f === ''))
      return refuse(REFUSE.param('The parameter subscribed_fields is required'));
    for (const [i, field] of fields.entries()) {
      if (typeof field !== 'string' || !PAGE_FIELDS.has(field))
        return refuse(
          REFUSE.param(
            `Param subscribed_fields[${i}] must be one of {${[...PAGE_FIELDS].join(', ')}} - got "${String(field)}"`,
          ),
        );
    }
    if (current.refuseSubscribe) return refuse(REFUSE.noSubscribePermission());
    this.subscriptions.set(pageId, {
      pageId,
      fields: [...new Set(fields as string[])],
      refuseSubscribe: false,
    });
    return answer(200, { success: true });
  }

  private async handleControl(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const route = `${method} ${path.slice('/_emulator'.length)}`;
    let body: unknown;
    try {
      const raw = (await readBody(req)).toString('utf8');
      body = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (error) {
      return writeControlError(res, 400, `The body must be JSON: ${(error as Error).message}`);
    }
    try {
      switch (route) {
        case 'GET /health':
          return writeJson(res, 200, { ok: true });
        case 'POST /optins':
          return writeJson(res, 201, this.registerOptin(body as OptinInput));
        case 'POST /optouts':
          return writeJson(res, 201, this.registerOptout(body as OptoutInput));
        case 'POST /user-messages':
          return writeJson(res, 201, this.registerUserMessage(body as UserMessageInput));
        case 'POST /faults':
          return writeJson(res, 201, this.addFault(body as FaultInput));
        case 'DELETE /faults':
          return writeJson(res, 200, { cleared: this.clearFaults() });
        case 'POST /flaky':
          return writeJson(res, 201, this.setFlaky(body as FlakyInput));
        case 'DELETE /flaky':
          return writeJson(res, 200, { cleared: this.clearFlaky() });
        case 'POST /permissions':
          return writeJson(res, 201, this.setPermissions(body as PermissionsInput));
        case 'POST /restrictions':
          return writeJson(res, 201, this.restrictPage(body as { pageId: string }));
        case 'DELETE /restrictions':
          return writeJson(res, 200, {
            cleared: this.clearRestrictions(query.get('pageId') ?? undefined),
          });
        case 'POST /revoked-tokens':
          return writeJson(res, 201, await this.revokeToken(body as { pageId: string }));
        case 'DELETE /revoked-tokens':
          return writeJson(res, 200, { cleared: this.clearRevokedTokens() });
        case 'POST /usage':
          return writeJson(res, 201, this.setUsage(body as UsageInput));
        case 'DELETE /usage':
          return writeJson(res, 200, { cleared: this.clearUsage() });
        case 'POST /subscriptions':
          return writeJson(res, 201, this.setSubscription(body as SubscriptionInput));
        case 'POST /subscriptions/drop':
          return writeJson(res, 201, this.dropSubscription(body as { pageId: string }));
        case 'GET /messages':
          return writeJson(
            res,
            200,
            this.messages({
              ...(query.has('loginId') ? { loginId: query.get('loginId') ?? '' } : {}),
              ...(query.has('psid') ? { psid: query.get('psid') ?? '' } : {}),
              ...(query.has('pageId') ? { pageId: query.get('pageId') ?? '' } : {}),
            }),
          );
        case 'GET /requests':
          return writeJson(res, 200, this.requests());
        case 'GET /state':
          return writeJson(res, 200, this.state());
        case 'POST /reset':
          this.reset();
          return writeJson(res, 200, { ok: true });
      }
    } catch (error) {
      if (error instanceof EmulatorInputError) return writeControlError(res, 400, error.message);
      throw error;
    }
    const known = [
      '/health',
      '/optins',
      '/optouts',
      '/user-messages',
      '/faults',
      '/flaky',
      '/permissions',
      '/messages',
      '/requests',
      '/state',
      '/reset',
      '/restrictions',
      '/revoked-tokens',
      '/usage',
      '/subscriptions',
      '/subscriptions/drop',
    ];
    const sub = path.slice('/_emulator'.length);
    if (known.includes(sub))
      return writeControlError(res, 405, `${method} is not allowed on ${path}`);
    return writeControlError(res, 404, `No emulator endpoint ${path}`);
  }
}

/** The recipient as recorded: its keys and string values, nothing else. */
function redactRecipient(recipient: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of RECIPIENT_KEYS) if (recipient[key] !== undefined) out[key] = recipient[key];
  return out;
}

/** The client is still there to read an answer. */
function isConnected(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded && res.socket !== null && !res.socket.destroyed;
}

/** Waits `ms`; resolves false as soon as the client disconnects (or the emulator closes). */
function waitWhileConnected(res: ServerResponse, ms: number): Promise<boolean> {
  if (!isConnected(res)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(isConnected(res));
    }, ms);
    res.once('close', onClose);
  });
}

function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json; charset=UTF-8',
  traceId?: string,
  headers: Record<string, string> = {},
): void {
  if (!isConnected(res)) return;
  const text =
    typeof body === 'string' && !contentType.includes('json') ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    ...(traceId ? { 'x-fb-trace-id': traceId } : {}),
  });
  res.end(text);
}

function writeGraphError(res: ServerResponse, r: Refusal): void {
  const error: GraphError = { ...r.error, fbtrace_id: fbtraceId() };
  writeJson(res, r.status, { error }, undefined, error.fbtrace_id);
}

function writeControlError(res: ServerResponse, status: number, message: string): void {
  writeJson(res, status, { error: { message } });
}
