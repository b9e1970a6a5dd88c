import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DAY_S, epochSeconds, errorItem, isConditionFailed, iso, STATUS } from './dynamo-helpers';
import type { Retention } from './dynamodb-optin-store';
import {
  type MessageClaim,
  type MessageClaimResult,
  type MessageStatus,
  type MessageStore,
  type OutboundMessage,
  TERMINAL_MESSAGE_STATUSES,
} from './message-store';
import type { AttemptError } from './optin-store';
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

  async claim(id: string, nowMs: number, leaseMs: number): Promise<MessageClaimResult> {
    const owner = this.newOwner();
    const now = iso(nowMs);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.outbound(id),
          UpdateExpression:
            'SET #status = :sending, leaseOwner = :owner, leaseUntil = :leaseUntil, attempts = attempts + :one, ' +
            'lastAttemptAt = :now, updatedAt = :now REMOVE nextAttemptAt',
          ConditionExpression:
            'attribute_exists(pk) AND ((#status = :queued AND (attribute_not_exists(nextAttemptAt) OR nextAttemptAt <= :now)) OR ' +
            '(#status = :sending AND leaseUntil < :now))',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':sending': 'sending',
            ':queued': 'queued',
            ':owner': owner,
            ':leaseUntil': iso(nowMs + leaseMs),
            ':one': 1,
            ':now': now,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'claimed', claim: { id, owner, message: Attributes as OutboundMessage } };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const old = error.Item ? unmarshall(error.Item as never) : undefined;
      if (old === undefined) return { outcome: 'missing' };
      if (TERMINAL_MESSAGE_STATUSES.has(String(old.status)))
        return { outcome: 'done', status: old.status as MessageStatus };
      const until = old.status === 'sending' ? old.leaseUntil : old.nextAttemptAt;
      const untilMs = typeof until === 'string' ? Date.parse(until) : nowMs + 1000;
      return { outcome: 'busy', untilMs };
    }
  }

  async markSent(
    claim: MessageClaim,
    sent: { pageId: string; messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<void> {
    const ref = keys.outbound(claim.id);
    const expiresAt = epochSeconds(nowMs) + this.retention.lockDays * DAY_S;
    const set = ['#status = :sent', 'sentAt = :now', 'updatedAt = :now', 'pageId = :pageId'];
    const values: Record<string, unknown> = {
      ':sent': 'sent',
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
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.tableName,
              Key: ref,
              UpdateExpression: `SET ${set.join(', ')} REMOVE leaseOwner, leaseUntil, nextAttemptAt`,
              // Recorded even if the lease ran out meanwhile: the message did go out.
              ConditionExpression: '#status <> :sent',
              ExpressionAttributeNames: STATUS,
              ExpressionAttributeValues: values,
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
          ...(sent.recipientId !== undefined && claim.message.to.psid === undefined
            ? [
                {
                  Put: {
                    TableName: this.tableName,
                    Item: {
                      ...keys.sentMessage({ kind: 'psid', id: sent.recipientId }, claim.id),
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

  async finish(
    claim: MessageClaim,
    end: { status: 'failed' | 'opted_out' | 'expired'; reason: string; error?: AttemptError },
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
