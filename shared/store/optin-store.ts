import type { FailureKind, SendFailure } from '../login-connect/send-errors';
import type { EventJob, RejectedOptinJob } from '../messages';

/** Where an opt-in stands. The last five are terminal: exactly one of them ends every opt-in. */
export type OptinStatus =
  | 'pending'
  | 'sending'
  | 'sent'
  | 'expired'
  | 'opted_out'
  | 'page_locked'
  | 'failed';
export type TerminalStatus = Exclude<OptinStatus, 'pending' | 'sending'>;

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set<TerminalStatus>([
  'sent',
  'expired',
  'opted_out',
  'page_locked',
  'failed',
]);

/** What the sender knows about an opt-in when it picks up a job. */
export interface OptinRef {
  loginId: string;
  pageId: string;
  optinAtMs: number;
  receivedAtMs: number;
  source: 'webhook' | 'login';
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
  | { outcome: 'claimed'; claim: Claim }
  /** The opt-in already ended (a duplicate, or a retry after success). */
  | { outcome: 'done'; status: TerminalStatus }
  /** Someone holds the lease, or the next attempt is not due: try again at `untilMs`. */
  | { outcome: 'busy'; untilMs: number }
  | { outcome: 'suppressed'; reason: string }
  | { outcome: 'locked'; lockedPageId: string }
  /** The stored window (which may predate this job) has closed. */
  | { outcome: 'expired' }
  /** The record belongs to another Page: this job is inconsistent and is not acted on. */
  | { outcome: 'conflict'; storedPageId: string };

export type SettleResult =
  | { outcome: 'recorded' }
  | { outcome: 'done'; status: TerminalStatus }
  | { outcome: 'busy'; untilMs: number };

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
  /** Creates the record if new and takes the lease, unless the opt-in ended, is suppressed, locked to another Page, expired, or busy. */
  claim(optin: OptinRef, nowMs: number, leaseMs: number): Promise<ClaimResult>;
  /** How many attempts the record counts, this one included (read only when an attempt failed). */
  attempts(claim: Claim): Promise<number>;
  /** Records success and the Page lock. `already_sent` means another worker recorded a send first. */
  markSent(
    claim: Claim,
    sent: { messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<'recorded' | 'already_sent'>;
  /** Releases the lease and schedules the next attempt. False if the lease was lost meanwhile. */
  markRetry(claim: Claim, error: AttemptError, retryAtMs: number, nowMs: number): Promise<boolean>;
  /** Ends a claimed opt-in. With `suppress`, also records the person as not to be messaged. */
  finish(
    claim: Claim,
    end: { status: TerminalStatus; reason: string; error?: AttemptError; suppress?: boolean },
    nowMs: number,
  ): Promise<boolean>;
  /** Ends an opt-in that nobody is working on, creating the record if needed. */
  settle(
    optin: OptinRef,
    end: { status: TerminalStatus; reason: string },
    nowMs: number,
  ): Promise<SettleResult>;
  /** Opt-ins not ended whose next expected activity is older than `beforeMs` (the `pending` index). */
  stale(beforeMs: number, limit: number): Promise<StaleOptin[]>;
  /** Moves a stale opt-in's next check to `nextMs`, unless someone touched it meanwhile. */
  deferSweep(loginId: string, seenSweepAt: string, nextMs: number): Promise<boolean>;
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
