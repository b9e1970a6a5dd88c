import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  DAY_S,
  epochSeconds,
  errorItem,
  isCancelled,
  isConditionFailed,
  iso,
  STATUS,
} from './dynamo-helpers';
import { RecordSendError, sameSend, takeoverGraceMs } from './dynamodb-optin-store';
import {
  type MessageClaim,
  type MessageClaimResult,
  type MessageEndStatus,
  type MessageStatus,
  type MessageStore,
  type OutboundMessage,
  TERMINAL_MESSAGE_STATUSES,
} from './message-store';
import type { AttemptError, RecordOutcome, Retention, SentFacts } from './optin-store';
import { keys, type PersonId } from './table-definition';

const recipientOf = (message: { to: OutboundMessage['to'] }): PersonId =>
  message.to.loginId !== undefined
    ? { kind: 'login', id: message.to.loginId }
    : { kind: 'psid', id: message.to.psid as string };

/**
 * Follow-up messages in the single table: `OUT#<id>` / `MESSAGE`, with a `MSG#<id>` pointer under
 * the recipient's partition (for receipts and data deletion) and a `MID#<mid>` pointer once sent.
 */
export class DynamoDbMessageStore implements MessageStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: Retention,
    private readonly newOwner: () => string = randomUUID,
  ) {}

  async create(
    message: Omit<OutboundMessage, 'status' | 'attempts' | 'createdAt'>,
    nowMs: number,
  ): Promise<void> {
    const expiresAt = epochSeconds(nowMs) + this.retention.optinDays * DAY_S;
    const ref = keys.outbound(message.id);
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                ...ref,
                type: 'message',
                ...message,
                status: 'queued',
                attempts: 0,
                createdAt: iso(nowMs),
                updatedAt: iso(nowMs),
                expiresAt,
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.tableName,
              Item: {
                ...keys.sentMessage(recipientOf(message), message.id),
                type: 'sent_message',
                ref,
                expiresAt,
              },
            },
          },
        ],
      }),
    );
  }

  async get(id: string): Promise<OutboundMessage | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.outbound(id), ConsistentRead: true }),
    );
    return Item as OutboundMessage | undefined;
  }

  async claim(
    id: string,
    nowMs: number,
    leaseMs: number,
    options: { takeover?: boolean } = {},
  ): Promise<MessageClaimResult> {
    const owner = this.newOwner();
    const first = await this.claimWrite(id, nowMs, leaseMs, owner, {
      condition:
        'attribute_exists(pk) AND #status = :queued AND (attribute_not_exists(nextAttemptAt) OR nextAttemptAt <= :now)',
      values: { ':queued': 'queued' },
    });
    if (first.outcome !== 'abandoned' || !options.takeover) return first;
    // Another attempt's lease ran out: take it over, unless someone else just did.
    return this.claimWrite(id, nowMs, leaseMs, owner, {
      condition: '#status = :sending AND leaseOwner = :previous AND leaseUntil < :now',
      values: { ':previous': first.owner },
      takeover: true,
    });
  }

  private async claimWrite(
    id: string,
    nowMs: number,
    leaseMs: number,
    owner: string,
    when: { condition: string; values: Record<string, unknown>; takeover?: boolean },
  ): Promise<MessageClaimResult> {
    const now = iso(nowMs);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(id),
          UpdateExpression:
            'SET #status = :sending, leaseOwner = :owner, leaseUntil = :leaseUntil, attempts = attempts + :one, ' +
            'lastAttemptAt = :now, updatedAt = :now REMOVE nextAttemptAt',
          ConditionExpression: when.condition,
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':sending': 'sending',
            ':owner': owner,
            ':leaseUntil': iso(nowMs + leaseMs),
            ':one': 1,
            ':now': now,
            ...when.values,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return {
        outcome: 'claimed',
        claim: { id, owner, leaseUntilMs: nowMs + leaseMs, message: Attributes as OutboundMessage },
        takeover: when.takeover === true,
      };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const old = error.Item ? unmarshall(error.Item as never) : undefined;
      if (old === undefined) return { outcome: 'missing' };
      if (TERMINAL_MESSAGE_STATUSES.has(String(old.status)))
        return { outcome: 'done', status: old.status as MessageStatus };
      // Our own claim took effect and only its answer was lost (the SDK retried it): it is ours.
      if (
        old.status === 'sending' &&
        old.leaseOwner === owner &&
        typeof old.leaseUntil === 'string'
      )
        return {
          outcome: 'claimed',
          claim: {
            id,
            owner,
            leaseUntilMs: Date.parse(old.leaseUntil),
            message: old as OutboundMessage,
          },
          takeover: when.takeover === true,
        };
      if (old.status === 'sending' && typeof old.leaseOwner === 'string') {
        // As for opt-ins: an expired lease is given up only after the hand-over grace.
        const abandonedAtMs = Date.parse(String(old.leaseUntil)) + takeoverGraceMs(leaseMs);
        if (abandonedAtMs < nowMs) return { outcome: 'abandoned', owner: old.leaseOwner };
        if (!Number.isNaN(abandonedAtMs)) return { outcome: 'busy', untilMs: abandonedAtMs + 1 };
      }
      const until = old.status === 'sending' ? old.leaseUntil : old.nextAttemptAt;
      const untilMs = typeof until === 'string' ? Date.parse(until) : nowMs + 1000;
      return { outcome: 'busy', untilMs };
    }
  }

  async abandon(id: string, owner: string, reason: string, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(id),
          UpdateExpression:
            'SET #status = :unknown, reason = :reason, updatedAt = :now, finishedAt = :now ' +
            'REMOVE leaseOwner, leaseUntil, nextAttemptAt',
          ConditionExpression: '#status = :sending AND leaseOwner = :owner',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':unknown': 'unknown',
            ':reason': reason,
            ':now': iso(nowMs),
            ':sending': 'sending',
            ':owner': owner,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async markSent(
    claim: MessageClaim,
    sent: { pageId: string; messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome> {
    const facts = { ...sent, id: claim.id, owner: claim.owner, sentAtMs: nowMs };
    const byHolder = await this.recordSent(facts, claim.message, nowMs, true);
    if (byHolder !== 'lease_lost') return byHolder;
    // The lease ran out before we could record. The message did go out, so record it anyway.
    return this.recordHandedOver(facts, nowMs);
  }

  async recordHandedOver(
    sent: SentFacts & { id: string; pageId: string; sentAtMs: number },
    nowMs: number,
  ): Promise<RecordOutcome> {
    const outcome = await this.recordSent(sent, undefined, nowMs, false);
    // Not reached: without the holder's condition, only a missing or `sent` record refuses.
    if (outcome === 'lease_lost') throw new RecordSendError('the record refused the send');
    return outcome;
  }

  /**
   * The message becomes `sent` (only if it exists; by the lease holder, or over any status but
   * `sent`) with its `MID#` pointer, and a `MSG#` pointer under the PSID Graph named. Reads the
   * cancellation reasons as `DynamoDbOptinStore.recordSent` does.
   */
  private async recordSent(
    sent: SentFacts & { id: string; pageId: string; sentAtMs: number },
    message: OutboundMessage | undefined,
    nowMs: number,
    asHolder: boolean,
  ): Promise<RecordOutcome | 'lease_lost'> {
    const ref = keys.outbound(sent.id);
    const expiresAt = epochSeconds(nowMs) + this.retention.lockDays * DAY_S;
    const set = [
      '#status = :sent',
      'sentAt = :sentAt',
      'sentBy = :owner',
      'updatedAt = :now',
      'pageId = :pageId',
    ];
    const values: Record<string, unknown> = {
      ':sent': 'sent',
      ':sentAt': iso(sent.sentAtMs),
      ':owner': sent.owner,
      ':now': iso(nowMs),
      ':pageId': sent.pageId,
    };
    if (sent.messageId !== undefined) {
      set.push('messageId = :mid');
      values[':mid'] = sent.messageId;
    }
    if (sent.recipientId !== undefined) {
      set.push('recipientId = :rid');
      values[':rid'] = sent.recipientId;
    }
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: ref,
                UpdateExpression: `SET ${set.join(', ')} REMOVE leaseOwner, leaseUntil, nextAttemptAt`,
                ConditionExpression: asHolder
                  ? 'leaseOwner = :owner'
                  : 'attribute_exists(pk) AND #status <> :sent',
                ExpressionAttributeNames: STATUS,
                ExpressionAttributeValues: values,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...(sent.messageId !== undefined
              ? [
                  {
                    Put: {
                      TableName: this.tableName,
                      Item: { ...keys.mid(sent.messageId), type: 'mid', ref, expiresAt },
                    },
                  },
                ]
              : []),
            // A follow-up to a `login_id` learns the person's PSID from Graph's answer.
            ...(sent.recipientId !== undefined && message?.to.psid === undefined
              ? [
                  {
                    Put: {
                      TableName: this.tableName,
                      Item: {
                        ...keys.sentMessage({ kind: 'psid', id: sent.recipientId }, sent.id),
                        type: 'sent_message',
                        ref,
                        expiresAt,
                      },
                    },
                  },
                ]
              : []),
          ],
        }),
      );
      return 'recorded';
    } catch (error) {
      if (!isCancelled(error)) throw error;
      const [reason] = error.CancellationReasons ?? [];
      if (reason?.Code === 'ConditionalCheckFailed') {
        const old = reason.Item ? unmarshall(reason.Item) : undefined;
        if (old === undefined) return 'gone';
        if (old.status === 'sent') return sameSend(old, sent) ? 'recorded' : 'already_sent';
        return 'lease_lost';
      }
      throw new RecordSendError(
        `recording the send was cancelled: ${(error.CancellationReasons ?? []).map((r) => r.Code).join(', ')}`,
      );
    }
  }

  async markRetry(
    claim: MessageClaim,
    error: AttemptError,
    retryAtMs: number,
    nowMs: number,
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(claim.id),
          UpdateExpression:
            'SET #status = :queued, nextAttemptAt = :retryAt, lastError = :error, errors = list_append(if_not_exists(errors, :empty), :errors), ' +
            'updatedAt = :now REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':queued': 'queued',
            ':retryAt': iso(retryAtMs),
            ':error': errorItem(error, nowMs),
            ':errors': [errorItem(error, nowMs)],
            ':empty': [],
            ':now': iso(nowMs),
            ':owner': claim.owner,
          },
        }),
      );
    } catch (caught) {
      if (!isConditionFailed(caught)) throw caught;
    }
  }

  async deferClaim(claim: MessageClaim, retryAtMs: number, nowMs: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(claim.id),
          UpdateExpression:
            'SET #status = :queued, nextAttemptAt = :retryAt, attempts = attempts - :one, ' +
            'updatedAt = :now REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':queued': 'queued',
            ':retryAt': iso(retryAtMs),
            ':one': 1,
            ':now': iso(nowMs),
            ':owner': claim.owner,
          },
        }),
      );
    } catch (caught) {
      if (!isConditionFailed(caught)) throw caught;
    }
  }

  async finish(
    claim: MessageClaim,
    end: { status: MessageEndStatus; reason: string; error?: AttemptError },
    nowMs: number,
  ): Promise<void> {
    const set = ['#status = :status', 'reason = :reason', 'updatedAt = :now', 'finishedAt = :now'];
    const values: Record<string, unknown> = {
      ':status': end.status,
      ':reason': end.reason,
      ':now': iso(nowMs),
      ':owner': claim.owner,
    };
    if (end.error) {
      set.push(
        'lastError = :error',
        'errors = list_append(if_not_exists(errors, :empty), :errors)',
      );
      values[':error'] = errorItem(end.error, nowMs);
      values[':errors'] = [values[':error']];
      values[':empty'] = [];
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(claim.id),
          UpdateExpression: `SET ${set.join(', ')} REMOVE leaseOwner, leaseUntil, nextAttemptAt`,
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }
}
