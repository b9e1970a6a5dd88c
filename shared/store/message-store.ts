import type { MessagingType, Recipient } from '../login-connect/followup-policy';
import type { AttemptError } from './optin-store';

/** Where a follow-up message stands; the last four are terminal. */
export type MessageStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'opted_out' | 'expired';
export const TERMINAL_MESSAGE_STATUSES: ReadonlySet<string> = new Set([
  'sent',
  'failed',
  'opted_out',
  'expired',
]);

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
  message: OutboundMessage;
}

export type MessageClaimResult =
  | { outcome: 'claimed'; claim: MessageClaim }
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
  claim(id: string, nowMs: number, leaseMs: number): Promise<MessageClaimResult>;
  markSent(
    claim: MessageClaim,
    sent: { pageId: string; messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<void>;
  markRetry(
    claim: MessageClaim,
    error: AttemptError,
    retryAtMs: number,
    nowMs: number,
  ): Promise<void>;
  finish(
    claim: MessageClaim,
    end: { status: 'failed' | 'opted_out' | 'expired'; reason: string; error?: AttemptError },
    nowMs: number,
  ): Promise<void>;
}
