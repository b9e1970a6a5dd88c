import { nonEmptyString } from '../../../../shared/json';
import {
  explainFollowupReason,
  explainReason,
  pagePausedReason,
  REASON_EXPLANATION,
} from '../../../../shared/login-connect/reasons';
import type { PagePauseReason } from '../../../../shared/login-connect/send-errors';
import { redactSecrets } from '../../../../shared/redact';
import type { Item } from '../../../../shared/store/inspect';
import {
  type PersonId,
  type PersonKind,
  parsePersonKey,
  personKey,
} from '../../../../shared/store/table-definition';
import { msOf } from '../../time';
import {
  type ErrorView,
  type FollowupView,
  type InspectView,
  type LinkView,
  MAX_EVENTS,
  type OptinView,
  type RejectedOptinView,
} from './types';

/**
 * From records to views: pure functions of the items read and the time, so every explanation
 * and every field is tested without a table.
 */

const str = nonEmptyString;
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

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

/** The Page pause a Graph error stands for, on records written before `waitingFor` existed. */
function pauseOfError(error: unknown): PagePauseReason | undefined {
  const e = (error ?? {}) as Item;
  if (e.code === 190) return 'token_invalid';
  if (e.code === 10 && e.subcode === 1893063) return 'page_restricted';
  return undefined;
}

/** What an ended opt-in's status means when its reason is missing or unknown to this version. */
const ENDED_FALLBACK: Record<string, string> = {
  expired: REASON_EXPLANATION.window_closed,
  opted_out: 'the person turned off messages or blocked the Page: never message them.',
  page_locked: 'an earlier first message used another Page: send through the Page in LOCK.',
  failed: REASON_EXPLANATION.send_api_rejected,
  unknown: REASON_EXPLANATION.previous_attempt_outcome_unknown,
};

/**
 * What an opt-in's status means and what to do about it. Reasons are explained by the catalogue
 * their producers write from (`shared/login-connect/reasons.ts`); only what depends on the
 * record's other fields (a lease run out, a last error) is worked out here.
 */
export function explainOptin(item: Item, nowMs: number): string {
  const status = String(item.status ?? 'unknown');
  const reason = str(item.statusReason);
  switch (status) {
    case 'pending': {
      const waiting = str(item.waitingFor);
      const explained = waiting !== undefined ? explainReason(waiting) : undefined;
      if (explained !== undefined) return explained;
      const pause = pauseOfError(item.lastError);
      if (pause !== undefined) return explainReason(pagePausedReason(pause)) as string;
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
    case 'sent':
      return 'the first message went out.';
    default: {
      const fallback = ENDED_FALLBACK[status];
      if (fallback === undefined) return `unknown status "${status}".`;
      return (reason !== undefined ? explainReason(reason) : undefined) ?? fallback;
    }
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
    explanation:
      str(item.reason) === undefined ? undefined : explainFollowupReason(String(item.reason)),
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
    const from = parsePersonKey(String(item.pk));
    const to = parsePersonKey(String(item.sk).slice('LINK#'.length));
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
      const person = parsePersonKey(String(item.pk));
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
        const owner = parsePersonKey(String(item.pk));
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
