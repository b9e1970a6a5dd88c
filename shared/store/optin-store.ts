import type { FailureKind, SendFailure } from '../login-connect/send-errors';
import type { EventJob, RejectedOptinJob } from '../messages';

/** How long each kind of record stays before TTL may delete it (every store
 * adapter is given it). */
export interface Retention {
  optinDays: number;
  lockDays: number;
  suppressionDays: number;
  eventDays: number;
}

/**
 * Where an opt-in stands. All but the first two are terminal: exactly one of them ends every
 * opt-in. `unknown` (only with the `hold` setting): an attempt's outcome could not be known, and
 * nothing is sent again until an operator resolves it.
 */
export const OPTIN_STATUSES = [
  'pending',
  'sending',
  'sent',
  'expired',
  'opted_out',
  'page_locked',
  'failed',
  'unknown',
] as const;
export type OptinStatus = (typeof OPTIN_STATUSES)[number];
export type TerminalStatus = Exclude<OptinStatus, 'pending' | 'sending'>;

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set<string>(
  OPTIN_STATUSES.filter((status) => status !== 'pending' && status !== 'sending'),
);

/** What the sender knows about an opt-in when it picks up a job. */
export interface OptinRef {
  loginId: string;
  pageId: string;
  optinAtMs: number;
  receivedAtMs: number;
  source: 'webhook' | 'login';
  /**
   * The keyed hash of this `login_id`'s tombstone (see `tombstoneId`). With it, a claim or a
   * settle that would create the record is refused when the person was deleted after this opt-in
   * was made. Without it, `settle` never creates a record.
   */
  tombstone?: string;
}

/** An opt-in the sweeper found: enough to enqueue it again or to end it. */
export interface StaleOptin extends OptinRef {
  status: OptinStatus;
  sweepAt: string;
  windowEndsAtMs: number;
}

/** The right to attempt one send, held until `leaseUntilMs`. */
export interface Claim {
  loginId: string;
  pageId: string;
  owner: string;
  leaseUntilMs: number;
}

export type ClaimResult =
  /** `takeover`: the claim ended another attempt's expired lease, whose outcome is unknown. */
  | { outcome: 'claimed'; claim: Claim; takeover: boolean }
  /** Another attempt's lease expired and takeovers are not allowed: its outcome is unknown. */
  | { outcome: 'abandoned'; owner: string }
  /** The opt-in already ended (a duplicate, or a retry after success). */
  | { outcome: 'done'; status: TerminalStatus }
  /** Someone holds the lease, or the next attempt is not due: try again at `untilMs`. */
  | { outcome: 'busy'; untilMs: number }
  | { outcome: 'suppressed'; reason: string }
  | { outcome: 'locked'; lockedPageId: string }
  /** The person was deleted after this opt-in was made: drop the job, create nothing. */
  | { outcome: 'deleted' }
  /** The stored window (which may predate this job) has closed. */
  | { outcome: 'expired' }
  /** The record belongs to another Page: this job is inconsistent and is not acted on. */
  | { outcome: 'conflict'; storedPageId: string };

export type SettleResult =
  | { outcome: 'recorded' }
  /** The person was deleted after this opt-in was made, or the record is gone: nothing written. */
  | { outcome: 'deleted' }
  | { outcome: 'done'; status: TerminalStatus }
  | { outcome: 'busy'; untilMs: number };

/** What parking an opt-in of a paused Page found (see `OptinStore.park`). */
export type ParkResult =
  | { outcome: 'parked' }
  /** Someone holds the lease: leave it to them. */
  | { outcome: 'busy' }
  | { outcome: 'done'; status: TerminalStatus }
  | { outcome: 'deleted' }
  | { outcome: 'conflict'; storedPageId: string };

/**
 * What recording a send found: `recorded` (by this call, or by an earlier try of it whose answer
 * was lost), `already_sent` (another attempt recorded a different send: two messages went out),
 * `gone` (the record no longer exists, e.g. deleted: recording never re-creates it). Transient
 * failures (conflicts, throttling, 5xx) are thrown, for the caller to retry.
 */
export type RecordOutcome = 'recorded' | 'already_sent' | 'gone';

/** A send that Graph accepted, as recorded. `owner` names the attempt that made it. */
export interface SentFacts {
  owner: string;
  messageId?: string;
  recipientId?: string;
}

/** A failed attempt as recorded: what Graph said, and what we made of it. */
export interface AttemptError extends SendFailure {
  kind: FailureKind;
  /** 1 for the first attempt. */
  attempt: number;
}

/**
 * Persistence of the Login Connect rules. Every method is a conditional write, so duplicates
 * and concurrent workers cannot both win.
 */
export interface OptinStore {
  /**
   * Creates the record if new and takes the lease, unless the opt-in ended, is suppressed, locked
   * to another Page, expired, or busy. An expired lease is taken over only with `takeover`.
   */
  claim(
    optin: OptinRef,
    nowMs: number,
    leaseMs: number,
    options?: { takeover?: boolean },
  ): Promise<ClaimResult>;
  /** Ends an abandoned attempt (see `claim`) as `unknown`. False if someone moved it meanwhile. */
  abandon(loginId: string, owner: string, reason: string, nowMs: number): Promise<boolean>;
  /** How many attempts the record counts, this one included (read only when an attempt failed). */
  attempts(claim: Claim): Promise<number>;
  /**
   * Records a send Graph accepted, the Page lock and the receipt pointers: by the lease holder, or
   * (the lease lost meanwhile) over any status but `sent`. Never creates the record.
   */
  markSent(
    claim: Claim,
    sent: { messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome>;
  /** `markSent` for a send handed over through the queue, when its sender could not record it. */
  recordHandedOver(
    sent: SentFacts & { loginId: string; pageId: string; sentAtMs: number; optinAtMs?: number },
    nowMs: number,
  ): Promise<RecordOutcome>;
  /** Releases the lease and schedules the next attempt. False if the lease was lost meanwhile. */
  markRetry(claim: Claim, error: AttemptError, retryAtMs: number, nowMs: number): Promise<boolean>;
  /** Ends a claimed opt-in. With `suppress`, also records the person as not to be messaged. */
  finish(
    claim: Claim,
    end: { status: TerminalStatus; reason: string; error?: AttemptError; suppress?: boolean },
    nowMs: number,
  ): Promise<boolean>;
  /**
   * Ends an opt-in that nobody is working on, creating the record if needed (only with
   * `optin.tombstone`, and only for a person not deleted since the opt-in).
   */
  settle(
    optin: OptinRef,
    end: { status: TerminalStatus; reason: string },
    nowMs: number,
  ): Promise<SettleResult>;
  /** Opt-ins not ended whose next expected activity is older than `beforeMs` (the `pending` index). */
  stale(beforeMs: number, limit: number): Promise<StaleOptin[]>;
  /** Moves a stale opt-in's next check to `nextMs`, unless someone touched it meanwhile. */
  deferSweep(loginId: string, seenSweepAt: string, nextMs: number): Promise<boolean>;
  /**
   * Records that an opt-in waits for its paused Page (`waitingFor`), without an attempt: created
   * `pending` if missing (only with `optin.tombstone`, and only for a person not deleted since),
   * and due for the sweeper at `retryAtMs`, so nothing is lost if its queue message is. Never
   * touches an opt-in that someone holds or that ended.
   */
  park(optin: OptinRef, retryAtMs: number, waitingFor: string, nowMs: number): Promise<ParkResult>;
  /** Up to `limit` opt-ins of this Page that have not ended (the `pending` index). */
  waitingOn(pageId: string, limit: number): Promise<StaleOptin[]>;
  /**
   * Makes a pending opt-in due now (its Page resumed): clears its next attempt time, unless
   * someone touched it since `seenSweepAt`. True when it did.
   */
  wake(loginId: string, seenSweepAt: string, nowMs: number): Promise<boolean>;
  /** Keeps a webhook event this version does not act on. Idempotent. */
  recordEvent(job: EventJob, nowMs: number): Promise<void>;
  /** Keeps a queue message the sender could not read. */
  recordRejected(
    rejected: { messageId: string; body: string; reason: string },
    nowMs: number,
  ): Promise<void>;
  /** Keeps a webhook opt-in that broke the input contract (never sent). Idempotent. */
  recordRejectedOptin(job: RejectedOptinJob, nowMs: number): Promise<void>;
}
