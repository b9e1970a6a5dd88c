import { createHash } from 'node:crypto';
import { redactSecrets } from '../../../shared/redact';
import { DynamoDbPersonStore } from '../../../shared/store/dynamodb-person-store';
import {
  getItems,
  type Item,
  type ItemKey,
  kindsOf,
  queryPartition,
} from '../../../shared/store/inspect';
import {
  keys,
  type PersonId,
  type PersonKind,
  personKey,
} from '../../../shared/store/table-definition';
import { type Context, KIND_LABEL, type Outcome, shortId } from '../context';
import { CliError, UsageError } from '../errors';
import { formatFields, formatTable } from '../table';
import { requireTable, withAws } from '../target';
import { formatLatency, msOf, relativeTime } from '../time';

/** Events are kept for days; the newest few say enough. */
const MAX_EVENTS = 20;
/** Only `identity()` is called on this store, and it writes nothing: the retention is never used. */
const READ_ONLY_RETENTION = { optinDays: 1, lockDays: 1, suppressionDays: 1, eventDays: 1 };

export interface ErrorView {
  attempt?: number;
  kind?: string;
  code?: number;
  subcode?: number;
  httpStatus?: number;
  type?: string;
  message?: string;
  fbtraceId?: string;
  network?: string;
  networkCode?: string;
  at?: string;
}

export interface OptinView {
  loginId: string;
  /**
   * False for an opt-in found through the PSID its first message reached, before the person
   * replied (the reply is what links the two).
   */
  linked: boolean;
  pageId?: string;
  status: string;
  statusReason?: string;
  /** What the status means and what to do, in a sentence (from the README's Operations table). */
  explanation: string;
  optinAt?: string;
  windowEndsAt?: string;
  windowOpen: boolean;
  receivedAt?: string;
  sources: string[];
  attempts: number;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  /** `page_paused:<reason>`: it waits for its paused Page, without attempts. */
  waitingFor?: string;
  leaseOwner?: string;
  leaseUntil?: string;
  /** While not ended: when the sweeper will take it up if nothing else does (the `pending` index). */
  sweepAt?: string;
  errors: ErrorView[];
  messageId?: string;
  recipientId?: string;
  sentAt?: string;
  /** sentAt − optinAt. */
  latencyMs?: number;
  lockedPageId?: string;
  receipt?: string;
  deliveredAt?: string;
  readAt?: string;
  finishedAt?: string;
  updatedAt?: string;
}

export interface LockView {
  loginId: string;
  pageId: string;
  lockedAt?: string;
  messageId?: string;
}

export interface SuppressionView {
  kind: PersonKind;
  id: string;
  source: string;
  reason: string;
  code?: number;
  subcode?: number;
  suppressedAt?: string;
}

export interface LinkView {
  from: PersonId;
  to: PersonId;
  pageId?: string;
  linkedAt?: string;
}

export interface ProfileView {
  psid: string;
  pageId?: string;
  loginId?: string;
  lastUserMessageAt?: string;
  /** The person's own 24 h window (RESPONSE/UPDATE allowed inside it). */
  windowEndsAt?: string;
  windowOpen: boolean;
}

export interface FollowupView {
  id: string;
  to: { loginId?: string; psid?: string };
  pageId?: string;
  status: string;
  receipt?: string;
  messagingType?: string;
  tag?: string;
  createdAt?: string;
  attempts: number;
  nextAttemptAt?: string;
  sentAt?: string;
  messageId?: string;
  deliveredAt?: string;
  readAt?: string;
  reason?: string;
  lastError?: ErrorView;
}

export interface EventView {
  owner: PersonId;
  eventType: string;
  channel?: string;
  pageId?: string;
  eventAt?: string;
  receivedAt?: string;
}

/** A webhook opt-in with this `login_id` string that broke the input contract: never sent. */
export interface RejectedOptinView {
  /** The login_id as kept (its first 256 characters). */
  loginId?: string;
  /** Its full length, when longer than what is kept. */
  loginIdLength?: number;
  pageId?: string;
  /** Every rule it broke. */
  reason: string;
  channel?: string;
  receivedAt?: string;
  rejectedAt?: string;
  /** SHA-256 and size of the opt-in item as received, and its start. */
  itemSha256?: string;
  itemBytes?: number;
  itemExcerpt?: string;
}

export interface InspectView {
  query: { id: string; kind: PersonKind };
  checkedAt: string;
  identity: PersonId[];
  optins: OptinView[];
  locks: LockView[];
  suppressions: SuppressionView[];
  links: LinkView[];
  profiles: ProfileView[];
  followups: FollowupView[];
  events: EventView[];
  /** Opt-ins received with this login_id that broke the input contract, newest first. */
  rejected: RejectedOptinView[];
}

const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

const PREFIX_KIND: Array<[string, PersonKind]> = [
  ['LOGIN#', 'login'],
  ['PSID#', 'psid'],
  ['ASID#', 'asid'],
];
function personOfKey(key: string): PersonId | undefined {
  for (const [prefix, kind] of PREFIX_KIND)
    if (key.startsWith(prefix)) return { kind, id: key.slice(prefix.length) };
  return undefined;
}

export function errorView(item: unknown): ErrorView {
  const e = (item ?? {}) as Item;
  return defined({
    attempt: num(e.attempt),
    kind: str(e.kind),
    code: num(e.code),
    subcode: num(e.subcode),
    httpStatus: num(e.httpStatus),
    type: str(e.type),
    // Redacted when written; again here, for records written before that was so.
    message: str(e.message) === undefined ? undefined : redactSecrets(String(e.message)),
    fbtraceId: str(e.fbtraceId),
    network: str(e.network),
    networkCode: str(e.networkCode),
    at: str(e.at),
  });
}

/** What an opt-in's status means and what to do about it, after the README's Operations table. */
export function explainOptin(item: Item, nowMs: number): string {
  const status = String(item.status ?? 'unknown');
  const reason = str(item.statusReason) ?? '';
  switch (status) {
    case 'pending': {
      const waiting = str(item.waitingFor)?.replace(/^page_paused:/, '');
      const code = num((item.lastError as Item | undefined)?.code);
      const subcode = num((item.lastError as Item | undefined)?.subcode);
      const pageReason =
        waiting ??
        (code === 190
          ? 'token_invalid'
          : code === 10 && subcode === 1893063
            ? 'page_restricted'
            : undefined);
      if (pageReason !== undefined)
        return `its Page is paused (${pageReason}): it waits, without attempts, and is sent once the Page can send again, while its window is open. See npx lcm pages.`;
      return item.lastError
        ? 'Facebook answered with a transient error; retrying (see the errors). Nothing to do.'
        : 'waiting for its first attempt.';
    }
    case 'sending': {
      const until = msOf(item.leaseUntil);
      return until !== undefined && until < nowMs
        ? 'a worker died mid-attempt, maybe after Graph accepted the message; its lease has run out. With sendUnknownOutcome "retry" the next delivery sends again (a second message is possible); with "hold" it ends as unknown.'
        : 'being sent right now.';
    }
    case 'unknown':
      return reason === 'send_api_no_answer'
        ? 'the Send API gave no answer, so the message may or may not have gone out; with sendUnknownOutcome "hold" it is not sent again. Ask the person or check the Page inbox; resolve by hand (README, Exactly once).'
        : 'an earlier attempt died mid-send, so the message may or may not have gone out; with sendUnknownOutcome "hold" it is not sent again. Ask the person or check the Page inbox; resolve by hand (README, Exactly once).';
    case 'sent':
      return 'the first message went out.';
    case 'expired':
      if (reason === 'window_closed_before_first_attempt')
        return 'the opt-in reached the sender after its 24 h window had closed (a late webhook or a long outage).';
      if (reason === 'window_closed_unattended')
        return 'nothing was working on it and the sweeper found it after its window had closed (its queue message was lost or went to the DLQ).';
      if (reason === 'window_closed_while_page_paused')
        return 'its Page stayed paused (restricted, token invalid or rate-limited) until the 24 h window closed. See npx lcm pages.';
      return 'the 24 h window closed before a send succeeded; look at the errors (a long outage or a late webhook).';
    case 'opted_out':
      return reason.startsWith('suppressed:')
        ? `the person was suppressed before the send (${reason.slice('suppressed:'.length)}): never message them.`
        : 'the person turned off messages or blocked the Page: never message them.';
    case 'page_locked':
      return `an earlier first message used another Page${reason.startsWith('locked_to_page:') ? ` (${reason.slice('locked_to_page:'.length)})` : ''}: send through the Page in LOCK.`;
    case 'failed':
      if (reason === 'page_not_configured')
        return 'no token for that Page in the secret: add it under pages.';
      if (reason === 'page_token_invalid')
        return 'the Page token was revoked or expired: put a new token in the secret.';
      return 'the Send API refused the message for good: see the errors.';
    default:
      return `unknown status "${status}".`;
  }
}

export function optinView(item: Item, nowMs: number, linked = true): OptinView {
  const optinAtMs = msOf(item.optinAt);
  const sentAtMs = msOf(item.sentAt);
  const windowEndMs = msOf(item.windowEndsAt);
  const sources = item.sources instanceof Set ? [...item.sources] : item.sources;
  return defined({
    loginId: String(item.loginId ?? String(item.pk).slice('LOGIN#'.length)),
    linked,
    pageId: str(item.pageId),
    status: String(item.status ?? 'unknown'),
    statusReason: str(item.statusReason),
    explanation: explainOptin(item, nowMs),
    optinAt: str(item.optinAt),
    windowEndsAt: str(item.windowEndsAt),
    windowOpen: windowEndMs !== undefined && windowEndMs > nowMs,
    receivedAt: str(item.receivedAt),
    sources: Array.isArray(sources) ? sources.map(String).sort() : [],
    attempts: num(item.attempts) ?? 0,
    lastAttemptAt: str(item.lastAttemptAt),
    nextAttemptAt: str(item.nextAttemptAt),
    waitingFor: str(item.waitingFor),
    leaseOwner: str(item.leaseOwner),
    leaseUntil: str(item.leaseUntil),
    sweepAt: str(item.sweepAt),
    errors: Array.isArray(item.errors) ? item.errors.map(errorView) : [],
    messageId: str(item.messageId),
    recipientId: str(item.recipientId),
    sentAt: str(item.sentAt),
    latencyMs: optinAtMs !== undefined && sentAtMs !== undefined ? sentAtMs - optinAtMs : undefined,
    lockedPageId: str(item.lockedPageId),
    receipt: str(item.receipt),
    deliveredAt: str(item.deliveredAt),
    readAt: str(item.readAt),
    finishedAt: str(item.finishedAt),
    updatedAt: str(item.updatedAt),
  });
}

export function rejectedOptinView(item: Item): RejectedOptinView {
  return defined({
    loginId: str(item.loginId),
    loginIdLength: num(item.loginIdLength),
    pageId: str(item.pageId),
    reason: String(item.statusReason ?? 'unknown'),
    channel: str(item.channel),
    receivedAt: str(item.receivedAt),
    rejectedAt: str(item.rejectedAt),
    itemSha256: str(item.itemSha256),
    itemBytes: num(item.itemBytes),
    itemExcerpt: str(item.itemExcerpt),
  });
}

export function followupView(item: Item): FollowupView {
  // `message` (the content) is never read out: operators see where a message stands, not what it says.
  const to = (item.to ?? {}) as Item;
  return defined({
    id: String(item.id ?? String(item.pk).slice('OUT#'.length)),
    to: defined({ loginId: str(to.loginId), psid: str(to.psid) }),
    pageId: str(item.pageId),
    status: String(item.status ?? 'unknown'),
    receipt: str(item.receipt),
    messagingType: str(item.messagingType),
    tag: str(item.tag),
    createdAt: str(item.createdAt),
    attempts: num(item.attempts) ?? 0,
    nextAttemptAt: str(item.nextAttemptAt),
    sentAt: str(item.sentAt),
    messageId: str(item.messageId),
    deliveredAt: str(item.deliveredAt),
    readAt: str(item.readAt),
    reason: str(item.reason),
    lastError: item.lastError ? errorView(item.lastError) : undefined,
  });
}

/**
 * Sorts a person's partitions into the views an operator reads. Pure: `items` are every item of
 * every linked identifier's partition, `outbound` the follow-up items their `MSG#` pointers name.
 */
export function buildInspectView(args: {
  query: { id: string; kind: PersonKind };
  identity: PersonId[];
  items: Item[];
  outbound: Item[];
  nowMs: number;
  /** The `REJECTED#LOGIN#<sha256 of the id>` items. */
  rejected?: Item[];
}): InspectView {
  const { items, nowMs } = args;
  const identityKeys = new Set(args.identity.map(personKey));
  const bySk = (test: (sk: string) => boolean) => items.filter((i) => test(String(i.sk)));
  const links = new Map<string, LinkView>();
  for (const item of bySk((sk) => sk.startsWith('LINK#'))) {
    const from = personOfKey(String(item.pk));
    const to = personOfKey(String(item.sk).slice('LINK#'.length));
    if (!from || !to) continue;
    // Links are written both ways; show each pair once.
    const pair = [personKey(from), personKey(to)].sort().join('|');
    if (links.has(pair)) continue;
    links.set(pair, defined({ from, to, pageId: str(item.pageId), linkedAt: str(item.linkedAt) }));
  }
  const newestFirst = (a: Item, b: Item) => String(b.sk).localeCompare(String(a.sk));
  return {
    query: args.query,
    checkedAt: new Date(nowMs).toISOString(),
    identity: args.identity,
    optins: bySk((sk) => sk === 'OPTIN').map((item) =>
      optinView(item, nowMs, identityKeys.has(String(item.pk))),
    ),
    locks: bySk((sk) => sk === 'LOCK').map((item) =>
      defined({
        loginId: String(item.pk).slice('LOGIN#'.length),
        pageId: String(item.pageId),
        lockedAt: str(item.lockedAt),
        messageId: str(item.messageId),
      }),
    ),
    suppressions: bySk((sk) => sk === 'SUPPRESSION').flatMap((item) => {
      const person = personOfKey(String(item.pk));
      if (!person) return [];
      return [
        defined({
          kind: person.kind,
          id: person.id,
          source: String(item.source ?? 'unknown'),
          reason: String(item.reason ?? ''),
          code: num(item.code),
          subcode: num(item.subcode),
          suppressedAt: str(item.suppressedAt),
        }),
      ];
    }),
    links: [...links.values()],
    profiles: bySk((sk) => sk === 'PROFILE').map((item) => {
      const windowEndMs = msOf(item.windowEndsAt);
      return defined({
        psid: String(item.psid ?? String(item.pk).slice('PSID#'.length)),
        pageId: str(item.pageId),
        loginId: str(item.loginId),
        lastUserMessageAt: str(item.lastUserMessageAt),
        windowEndsAt: str(item.windowEndsAt),
        windowOpen: windowEndMs !== undefined && windowEndMs > nowMs,
      });
    }),
    followups: args.outbound
      .map(followupView)
      .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))),
    events: bySk((sk) => sk.startsWith('EVENT#'))
      .sort(newestFirst)
      .slice(0, MAX_EVENTS)
      .flatMap((item) => {
        const owner = personOfKey(String(item.pk));
        if (!owner) return [];
        // The payload may hold what the person wrote: only the event's kind and time are shown.
        return [
          defined({
            owner,
            eventType: String(item.eventType ?? 'unknown'),
            channel: str(item.channel),
            pageId: str(item.pageId),
            eventAt: str(item.eventAt),
            receivedAt: str(item.receivedAt),
          }),
        ];
      }),
    rejected: (args.rejected ?? [])
      .map(rejectedOptinView)
      .sort((a, b) => String(b.receivedAt).localeCompare(String(a.receivedAt))),
  };
}

/** Which kind of identifier `id` is: as told, or found by its partitions. */
export async function resolveKind(
  ctx: Context,
  tableName: string,
  id: string,
  kind: PersonKind | undefined,
  usage: 'inspect' | 'optout',
): Promise<PersonKind | undefined> {
  if (kind) return kind;
  const kinds = await kindsOf(ctx.doc(), tableName, id);
  if (kinds.length > 1)
    throw new UsageError(
      `${id} is known as ${kinds.map((k) => KIND_LABEL[k]).join(' and ')}: say which with --kind ${kinds.join('|')}.`,
    );
  if (kinds.length === 0 && usage === 'optout')
    throw new UsageError(
      `No records for ${id}: say what it is with --kind login|psid|asid to opt it out anyway.`,
    );
  return kinds[0];
}

/** Reads everything about the person `id` names. */
export async function inspectPerson(
  ctx: Context,
  args: { id: string; kind?: PersonKind },
): Promise<Outcome<InspectView>> {
  const tableName = requireTable(ctx.target);
  const call = {
    actions: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    resource: `table ${tableName}`,
    target: ctx.target,
  };
  const view = await withAws(call, async () => {
    // Opt-ins that broke the contract are kept under the hash of their login_id string.
    const [kind, rejected] = await Promise.all([
      resolveKind(ctx, tableName, args.id, args.kind, 'inspect'),
      queryPartition(ctx.doc(), tableName, rejectedOptinPartition(args.id)),
    ]);
    if (kind === undefined && rejected.length > 0)
      return buildInspectView({
        query: { id: args.id, kind: 'login' },
        identity: [],
        items: [],
        outbound: [],
        rejected,
        nowMs: ctx.nowMs,
      });
    if (kind === undefined)
      throw new CliError(
        `Nothing found for ${args.id}: no LOGIN#, PSID# or ASID# records, and no rejected opt-in with this login_id. If it is a login_id, the opt-in webhook never reached us or its records' TTL has passed: check the Page is subscribed to messaging_optins and the app to the Page.`,
      );
    const person: PersonId = { kind, id: args.id };
    const people = new DynamoDbPersonStore(ctx.doc(), tableName, READ_ONLY_RETENTION);
    const { ids } = await people.identity(person);
    const partitions = await Promise.all(
      ids.map((id) => queryPartition(ctx.doc(), tableName, personKey(id))),
    );
    const items = partitions.flat();
    const refs = items
      .filter((item) => String(item.sk).startsWith('MSG#'))
      .map((item) => item.ref as ItemKey | undefined)
      .filter((ref): ref is ItemKey => ref !== undefined && typeof ref.pk === 'string');
    // A first message names its PSID before the person replies (and the link exists): read that
    // opt-in and its lock too, so a PSID leads to the opt-in whose message reached it.
    const known = new Set(ids.map(personKey));
    const firstMessages = refs
      .filter((ref) => ref.pk.startsWith('LOGIN#') && !known.has(ref.pk))
      .flatMap((ref) => [ref, { pk: ref.pk, sk: 'LOCK' }]);
    const outbound = refs.filter((ref) => ref.pk.startsWith('OUT#'));
    const fetched =
      outbound.length + firstMessages.length > 0
        ? await getItems(ctx.doc(), tableName, [...outbound, ...firstMessages])
        : [];
    return buildInspectView({
      query: person,
      identity: ids,
      items: [...items, ...fetched.filter((item) => !String(item.pk).startsWith('OUT#'))],
      outbound: fetched.filter((item) => String(item.pk).startsWith('OUT#')),
      nowMs: ctx.nowMs,
      rejected,
    });
  });
  return { view, render: () => renderInspect(view, ctx.nowMs) };
}

const label = (p: PersonId, short = true) =>
  `${KIND_LABEL[p.kind]} ${short ? shortId(p.id) : p.id}`;
const when = (iso: string | undefined, nowMs: number) => {
  const ms = msOf(iso);
  return ms === undefined ? undefined : relativeTime(ms, nowMs);
};
const stamped = (iso: string | undefined, nowMs: number) =>
  iso === undefined ? undefined : `${iso}  (${when(iso, nowMs)})`;

function windowText(endsAt: string | undefined, nowMs: number): string | undefined {
  const endMs = msOf(endsAt);
  if (endMs === undefined) return undefined;
  const span = relativeTime(endMs, nowMs);
  return endMs > nowMs ? `open, closes ${span}` : `closed ${span}`;
}

function errorCode(e: ErrorView): string {
  if (e.code === undefined) return e.network ?? '';
  return e.subcode === undefined ? String(e.code) : `${e.code}/${e.subcode}`;
}

function renderOptin(o: OptinView, locks: LockView[], nowMs: number): string {
  const lock = locks.find((l) => l.loginId === o.loginId);
  const receipt =
    o.receipt === 'read'
      ? `read ${when(o.readAt, nowMs) ?? ''}${o.deliveredAt ? ` (delivered ${when(o.deliveredAt, nowMs)})` : ''}`
      : o.receipt === 'delivered'
        ? `delivered ${when(o.deliveredAt, nowMs) ?? ''}`
        : o.status === 'sent'
          ? 'none yet'
          : undefined;
  const lines = [
    `Opt-in  login_id ${o.loginId}${o.pageId ? `  Page ${o.pageId}` : ''}${o.linked ? '' : '\n  (its first message reached this PSID; the person has not replied, so the two are not linked yet)'}`,
    formatFields(
      [
        ['status', o.statusReason ? `${o.status} (${o.statusReason})` : o.status],
        ['why', o.explanation],
        ['opt-in', stamped(o.optinAt, nowMs)],
        [
          'window',
          o.windowEndsAt
            ? `ends ${o.windowEndsAt}  (${windowText(o.windowEndsAt, nowMs)})`
            : undefined,
        ],
        ['received', stamped(o.receivedAt, nowMs)],
        ['sources', o.sources.length > 0 ? o.sources.join(', ') : undefined],
        [
          'attempts',
          `${o.attempts}${o.lastAttemptAt ? `, last ${when(o.lastAttemptAt, nowMs)}` : ''}`,
        ],
        ['next attempt', o.nextAttemptAt ? when(o.nextAttemptAt, nowMs) : undefined],
        ['waiting for', o.waitingFor],
        [
          'lease',
          o.leaseOwner
            ? `${o.leaseOwner}, ${msOf(o.leaseUntil) !== undefined && (msOf(o.leaseUntil) as number) < nowMs ? `ran out ${when(o.leaseUntil, nowMs)}` : `until ${when(o.leaseUntil, nowMs)}`}`
            : undefined,
        ],
        [
          'sent',
          o.sentAt
            ? `${o.sentAt}  (${when(o.sentAt, nowMs)}${o.latencyMs !== undefined ? `, ${formatLatency(o.latencyMs)} after the opt-in` : ''})`
            : undefined,
        ],
        ['message id', o.messageId],
        ['recipient id', o.recipientId],
        ['receipt', receipt],
        [
          'lock',
          lock
            ? `Page ${lock.pageId}${lock.lockedAt ? `, since ${when(lock.lockedAt, nowMs)}` : ''}`
            : undefined,
        ],
        [
          'sweeper',
          o.sweepAt ? `looks at it ${when(o.sweepAt, nowMs)} if nothing else does` : undefined,
        ],
        ['finished', o.finishedAt ? when(o.finishedAt, nowMs) : undefined],
        ['errors', o.errors.length === 0 ? 'none' : String(o.errors.length)],
      ],
      '  ',
    ),
  ];
  if (o.errors.length > 0) {
    lines.push(
      formatTable(
        ['#', 'at', 'kind', 'code', 'http', 'message'],
        o.errors.map((e, i) => [
          String(e.attempt ?? i + 1),
          when(e.at, nowMs) ?? '',
          e.kind ?? '',
          errorCode(e),
          e.httpStatus === undefined ? '' : String(e.httpStatus),
          e.message ?? '',
        ]),
        { indent: '    ', align: ['right'] },
      ),
    );
  }
  return lines.join('\n');
}

/** The partition holding the rejected opt-ins whose login_id was exactly `id`. */
function rejectedOptinPartition(id: string): string {
  const loginIdSha256 = createHash('sha256').update(id, 'utf8').digest('hex');
  return keys.rejectedOptin({ loginIdSha256, itemSha256: '' }).pk;
}

function renderRejected(view: InspectView, nowMs: number): string {
  return [
    'Rejected opt-ins (broke the input contract; never sent)',
    formatTable(
      ['received', 'Page', 'item', 'reason'],
      view.rejected.map((r) => [
        when(r.receivedAt, nowMs) ?? '',
        r.pageId ?? '',
        `${(r.itemSha256 ?? '').slice(0, 12)}… ${r.itemBytes ?? '?'} bytes`,
        r.reason,
      ]),
      { indent: '  ' },
    ),
  ].join('\n');
}

/** The human form of `lcm inspect`: sections in the order an operator asks the questions. */
export function renderInspect(view: InspectView, nowMs: number): string {
  if (view.identity.length === 0) {
    const kept = view.rejected[0]?.loginIdLength;
    return `${label(view.query, false)}  found only as a rejected opt-in${kept ? ` (a login_id of ${kept} characters)` : ''}\n\n${renderRejected(view, nowMs)}\n`;
  }
  const sections: string[] = [];
  const others = view.identity.length - 1;
  sections.push(
    `${label(view.query, false)}  found as ${KIND_LABEL[view.query.kind]}; ${others === 0 ? 'no other identifiers linked' : `${others} other identifier${others === 1 ? '' : 's'} linked`}`,
  );
  sections.push(
    [
      'Identifiers',
      formatTable(
        ['kind', 'id'],
        view.identity.map((p) => [KIND_LABEL[p.kind], p.id]),
        { indent: '  ' },
      ),
    ].join('\n'),
  );
  if (view.optins.length === 0) {
    sections.push(
      "Opt-in  none: no OPTIN record for these identifiers. The opt-in webhook never reached us, or the record's TTL has passed.",
    );
  } else {
    for (const optin of view.optins) sections.push(renderOptin(optin, view.locks, nowMs));
  }
  sections.push(
    view.suppressions.length === 0
      ? 'Suppressions  none'
      : [
          'Suppressions',
          formatTable(
            ['identifier', 'source', 'reason', 'code', 'when'],
            view.suppressions.map((s) => [
              label(s),
              s.source,
              s.reason,
              s.code === undefined ? '' : errorCode(s),
              when(s.suppressedAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  sections.push(
    view.links.length === 0
      ? 'Links  none'
      : [
          'Links',
          formatTable(
            ['from', '', 'to', 'Page', 'linked'],
            view.links.map((l) => [
              label(l.from),
              '↔',
              label(l.to),
              l.pageId ?? '',
              when(l.linkedAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  for (const p of view.profiles) {
    sections.push(
      [
        `PSID profile  ${p.psid}`,
        formatFields(
          [
            ['Page', p.pageId],
            ['login_id', p.loginId],
            ['last user message', stamped(p.lastUserMessageAt, nowMs)],
            [
              'window',
              p.windowEndsAt
                ? `${windowText(p.windowEndsAt, nowMs)}${p.windowOpen ? ' (RESPONSE and UPDATE allowed)' : ' (only tagged messages)'}`
                : undefined,
            ],
          ],
          '  ',
        ),
      ].join('\n'),
    );
  }
  sections.push(
    view.followups.length === 0
      ? 'Follow-up messages  none'
      : [
          'Follow-up messages',
          formatTable(
            ['id', 'to', 'Page', 'status', 'type', 'created', 'sent', 'attempts', 'reason'],
            view.followups.map((f) => [
              f.id,
              f.to.loginId ? `login_id ${shortId(f.to.loginId)}` : `psid ${f.to.psid ?? ''}`,
              f.pageId ?? '',
              f.receipt ? `${f.status} (${f.receipt})` : f.status,
              f.tag ? `${f.messagingType ?? ''} ${f.tag}` : (f.messagingType ?? ''),
              when(f.createdAt, nowMs) ?? '',
              when(f.sentAt, nowMs) ?? '',
              String(f.attempts),
              f.reason ?? (f.lastError ? `last error ${errorCode(f.lastError)}` : ''),
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  sections.push(
    view.events.length === 0
      ? 'Unhandled events  none'
      : [
          `Unhandled events (newest ${MAX_EVENTS} at most)`,
          formatTable(
            ['under', 'type', 'channel', 'at'],
            view.events.map((e) => [
              label(e.owner),
              e.eventType,
              e.channel ?? '',
              when(e.eventAt, nowMs) ?? '',
            ]),
            { indent: '  ' },
          ),
        ].join('\n'),
  );
  if (view.rejected.length > 0) sections.push(renderRejected(view, nowMs));
  return `${sections.join('\n\n')}\n`;
}
