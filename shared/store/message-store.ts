import type { MessagingType, Recipient } from '../login-connect/followup-policy';
import type { AttemptError, RecordOutcome, SentFacts } from './optin-store';

/**
 * Where a follow-up message stands; all but the first two are terminal. `unknown` (only with the
 * `hold` setting): an attempt's outcome could not be known, and it is not sent again.
 */
export type MessageStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'failed'
  | 'opted_out'
  | 'expired'
  | 'unknown';
export const TERMINAL_MESSAGE_STATUSES: ReadonlySet<string> = new Set([
  'sent',
  'failed',
  'opted_out',
  'expired',
  'unknown',
]);
/** How a follow-up ends without a recorded send. */
export type MessageEndStatus = 'failed' | 'opted_out' | 'expired' | 'unknown';

export interface OutboundMessage {
  id: string;
  to: Recipient;
  pageId: string;
  messagingType: MessagingType;
  tag?: string;
  message: Record<string, unknown>;
  status: MessageStatus;
  reason?: string;
  attempts: number;
  createdAt: string;
  sentAt?: string;
  messageId?: string;
  receipt?: 'delivered' | 'read';
  deliveredAt?: string;
  readAt?: string;
  lastError?: Record<string, unknown>;
}

export interface MessageClaim {
  id: string;
  owner: string;
  leaseUntilMs: number;
  message: OutboundMessage;
}

export type MessageClaimResult =
  /** `takeover`: the claim ended another attempt's expired lease, whose outcome is unknown. */
  | { outcome: 'claimed'; claim: MessageClaim; takeover: boolean }
  /** Another attempt's lease expired and takeovers are not allowed: its outcome is unknown. */
  | { outcome: 'abandoned'; owner: string }
  | { outcome: 'done'; status: MessageStatus }
  | { outcome: 'busy'; untilMs: number }
  | { outcome: 'missing' };

/** Follow-up messages: accepted by the API, sent by the sender, exactly once. */
export interface MessageStore {
  create(
    message: Omit<OutboundMessage, 'status' | 'attempts' | 'createdAt'>,
    nowMs: number,
  ): Promise<void>;
  get(id: string): Promise<OutboundMessage | undefined>;
  /** Takes the lease; an expired one only with `takeover`. */
  claim(
    id: string,
    nowMs: number,
    leaseMs: number,
    options?: { takeover?: boolean },
  ): Promise<MessageClaimResult>;
  /** Ends an abandoned attempt (see `claim`) as `unknown`. False if someone moved it meanwhile. */
  abandon(id: string, owner: string, reason: string, nowMs: number): Promise<boolean>;
  /** As `OptinStore.markSent`: never creates the record; transient failures are thrown. */
  markSent(
    claim: MessageClaim,
    sent: { pageId: string; messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome>;
  /** `markSent` for a send handed over through the queue. */
  recordHandedOver(
    sent: SentFacts & { id: string; pageId: string; sentAtMs: number },
    nowMs: number,
  ): Promise<RecordOutcome>;
  markRetry(
    claim: MessageClaim,
    error: AttemptError,
    retryAtMs: number,
    nowMs: number,
  ): Promise<void>;
  /**
   * Gives a claim back without an attempt (its Page is paused): queued again from `retryAtMs`,
   * the attempt the claim counted taken back. Nothing if the lease was lost meanwhile.
   */
  deferClaim(claim: MessageClaim, retryAtMs: number, nowMs: number): Promise<void>;
  finish(
    claim: MessageClaim,
    end: { status: MessageEndStatus; reason: string; error?: AttemptError },
    nowMs: number,
  ): Promise<void>;
}
