import { randomUUID } from 'node:crypto';
import { takeoverGraceMs } from '../../../shared/store/dynamodb-optin-store';
import {
  type MessageClaim,
  type MessageClaimResult,
  type MessageEndStatus,
  type MessageStatus,
  type MessageStore,
  type OutboundMessage,
  TERMINAL_MESSAGE_STATUSES,
} from '../../../shared/store/message-store';
import type { AttemptError, RecordOutcome, SentFacts } from '../../../shared/store/optin-store';

const iso = (ms: number) => new Date(ms).toISOString();

type Stored = OutboundMessage & {
  leaseOwner?: string;
  leaseUntilMs?: number;
  nextAttemptAtMs?: number;
  sentBy?: string;
  recipientId?: string;
  errors: AttemptError[];
};

/**
 * An in-memory `MessageStore` with the DynamoDB adapter's conditional semantics (see
 * `FakeOptinStore`).
 */
export class FakeMessageStore implements MessageStore {
  readonly messages = new Map<string, Stored>();
  readonly calls: string[] = [];

  constructor(private readonly newOwner: () => string = randomUUID) {}

  async create(message: Omit<OutboundMessage, 'status' | 'attempts' | 'createdAt'>, nowMs: number) {
    if (this.messages.has(message.id)) throw new Error(`message ${message.id} exists`);
    this.messages.set(message.id, {
      ...structuredClone(message),
      status: 'queued',
      attempts: 0,
      createdAt: iso(nowMs),
      errors: [],
    });
  }

  async get(id: string) {
    const stored = this.messages.get(id);
    return stored ? structuredClone(stored) : undefined;
  }

  async claim(
    id: string,
    nowMs: number,
    leaseMs: number,
    options: { takeover?: boolean } = {},
  ): Promise<MessageClaimResult> {
    this.calls.push('claim');
    const owner = this.newOwner();
    const first = this.claimWrite(
      id,
      nowMs,
      leaseMs,
      owner,
      false,
      (old) =>
        old.status === 'queued' &&
        (old.nextAttemptAtMs === undefined || old.nextAttemptAtMs <= nowMs),
    );
    if (first.outcome !== 'abandoned' || !options.takeover) return first;
    const previous = first.owner;
    return this.claimWrite(
      id,
      nowMs,
      leaseMs,
      owner,
      true,
      (old) =>
        old.status === 'sending' && old.leaseOwner === previous && (old.leaseUntilMs ?? 0) < nowMs,
    );
  }

  private claimWrite(
    id: string,
    nowMs: number,
    leaseMs: number,
    owner: string,
    takeover: boolean,
    condition: (old: Stored) => boolean,
  ): MessageClaimResult {
    const old = this.messages.get(id);
    if (old === undefined) return { outcome: 'missing' };
    if (condition(old)) {
      old.status = 'sending';
      old.leaseOwner = owner;
      old.leaseUntilMs = nowMs + leaseMs;
      old.attempts += 1;
      delete old.nextAttemptAtMs;
      return {
        outcome: 'claimed',
        claim: { id, owner, leaseUntilMs: nowMs + leaseMs, message: structuredClone(old) },
        takeover,
      };
    }
    if (TERMINAL_MESSAGE_STATUSES.has(old.status)) return { outcome: 'done', status: old.status };
    if (old.status === 'sending' && old.leaseOwner !== undefined) {
      const abandonedAtMs = (old.leaseUntilMs ?? 0) + takeoverGraceMs(leaseMs);
      if (abandonedAtMs < nowMs) return { outcome: 'abandoned', owner: old.leaseOwner };
      return { outcome: 'busy', untilMs: abandonedAtMs + 1 };
    }
    return { outcome: 'busy', untilMs: old.nextAttemptAtMs ?? nowMs + 1000 };
  }

  private release(stored: Stored, status: MessageStatus) {
    stored.status = status;
    delete stored.leaseOwner;
    delete stored.leaseUntilMs;
    delete stored.nextAttemptAtMs;
  }

  async abandon(id: string, owner: string, reason: string) {
    this.calls.push('abandon');
    const stored = this.messages.get(id);
    if (stored?.status !== 'sending' || stored.leaseOwner !== owner) return false;
    this.release(stored, 'unknown');
    stored.reason = reason;
    return true;
  }

  async markSent(
    claim: MessageClaim,
    sent: { pageId: string; messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome> {
    this.calls.push('markSent');
    const facts = { ...sent, id: claim.id, owner: claim.owner, sentAtMs: nowMs };
    const byHolder = this.recordSent(facts, (old) => old.leaseOwner === claim.owner);
    if (byHolder !== 'lease_lost') return byHolder;
    return this.recordHandedOver(facts);
  }

  async recordHandedOver(
    sent: SentFacts & { id: string; pageId: string; sentAtMs: number },
  ): Promise<RecordOutcome> {
    this.calls.push('recordHandedOver');
    const outcome = this.recordSent(sent, (old) => old.status !== 'sent');
    if (outcome === 'lease_lost') throw new Error('the record refused the send');
    return outcome;
  }

  private recordSent(
    sent: SentFacts & { id: string; pageId: string; sentAtMs: number },
    condition: (old: Stored) => boolean,
  ): RecordOutcome | 'lease_lost' {
    const old = this.messages.get(sent.id);
    if (old === undefined) return 'gone';
    if (!condition(old)) {
      if (old.status !== 'sent') return 'lease_lost';
      const same =
        sent.messageId !== undefined ? old.messageId === sent.messageId : old.sentBy === sent.owner;
      return same ? 'recorded' : 'already_sent';
    }
    this.release(old, 'sent');
    Object.assign(old, {
      sentBy: sent.owner,
      sentAt: iso(sent.sentAtMs),
      pageId: sent.pageId,
      ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
      ...(sent.recipientId !== undefined ? { recipientId: sent.recipientId } : {}),
    });
    return 'recorded';
  }

  async markRetry(claim: MessageClaim, error: AttemptError, retryAtMs: number) {
    this.calls.push('markRetry');
    const stored = this.messages.get(claim.id);
    if (stored?.leaseOwner !== claim.owner) return;
    this.release(stored, 'queued');
    stored.nextAttemptAtMs = retryAtMs;
    stored.errors.push(error);
  }

  async deferClaim(claim: MessageClaim, retryAtMs: number) {
    this.calls.push('deferClaim');
    const stored = this.messages.get(claim.id);
    if (stored?.leaseOwner !== claim.owner) return;
    this.release(stored, 'queued');
    stored.nextAttemptAtMs = retryAtMs;
    stored.attempts -= 1;
  }

  async finish(
    claim: MessageClaim,
    end: { status: MessageEndStatus; reason: string; error?: AttemptError },
  ) {
    this.calls.push('finish');
    const stored = this.messages.get(claim.id);
    if (stored?.leaseOwner !== claim.owner) return;
    this.release(stored, end.status);
    stored.reason = end.reason;
    if (end.error) stored.errors.push(end.error);
  }
}
