import type { PersonId, PersonKind } from '../../../../shared/store/table-definition';

/**
 * What `lcm inspect` shows: its `--json` output, field for field. Built from the records by
 * `view.ts`, read by `read.ts`, printed for people by `render.ts`.
 */

/** Events are kept for days; the newest few say enough. */
export const MAX_EVENTS = 20;

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
  /** What `reason` means, when it is one the sender writes (`shared/login-connect/reasons.ts`). */
  explanation?: string;
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
