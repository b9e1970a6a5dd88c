import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  conditionally,
  DAY_S,
  epochSeconds,
  isCancelled,
  isConditionFailed,
  iso,
  releaseLease,
  STATUS,
  sentUpdate,
} from './dynamo-helpers';
import {
  cancelledSend,
  ownClaim,
  RecordSendError,
  refusedByHolder,
  refusedSend,
} from './dynamodb-optin-store';
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
      const ownUntilMs = ownClaim(old, owner);
      if (ownUntilMs !== undefined)
        return {
          outcome: 'claimed',
          claim: { id, owner, leaseUntilMs: ownUntilMs, message: old as OutboundMessage },
          takeover: when.takeover === true,
        };
      // As for opt-ins: an expired lease is given up only after the hand-over grace.
      return refusedByHolder(old, nowMs, leaseMs);
    }
  }

  async abandon(id: string, owner: string, reason: string, nowMs: number): Promise<boolean> {
    const update = releaseLease({
      tableName: this.tableName,
      key: keys.outbound(id),
      owner,
      nowMs,
      set: ['#status = :unknown', 'reason = :reason', 'updatedAt = :now', 'finishedAt = :now'],
      values: { ':unknown': 'unknown', ':reason': reason, ':sending': 'sending' },
      remove: ['nextAttemptAt'],
    });
    return conditionally(
      this.client.send(
        new UpdateCommand({
          ...update,
          ConditionExpression: `#status = :sending AND ${update.ConditionExpression}`,
        }),
      ),
    );
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
    const { set, values } = sentUpdate(sent, sent.sentAtMs, nowMs);
    set.push('pageId = :pageId');
    values[':pageId'] = sent.pageId;
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
      if (reason?.Code === 'ConditionalCheckFailed')
        return refusedSend(reason.Item ? unmarshall(reason.Item) : undefined, sent);
      throw cancelledSend(error.CancellationReasons);
    }
  }

  async markRetry(
    claim: MessageClaim,
    error: AttemptError,
    retryAtMs: number,
    nowMs: number,
  ): Promise<void> {
    await this.releaseLease(claim, nowMs, {
      set: ['#status = :queued', 'nextAttemptAt = :retryAt', 'updatedAt = :now'],
      values: { ':queued': 'queued', ':retryAt': iso(retryAtMs) },
      error,
    });
  }

  async deferClaim(claim: MessageClaim, retryAtMs: number, nowMs: number): Promise<void> {
    await this.releaseLease(claim, nowMs, {
      set: [
        '#status = :queued',
        'nextAttemptAt = :retryAt',
        'attempts = attempts - :one',
        'updatedAt = :now',
      ],
      values: { ':queued': 'queued', ':retryAt': iso(retryAtMs), ':one': 1 },
    });
  }

  async finish(
    claim: MessageClaim,
    end: { status: MessageEndStatus; reason: string; error?: AttemptError },
    nowMs: number,
  ): Promise<void> {
    await this.releaseLease(claim, nowMs, {
      set: ['#status = :status', 'reason = :reason', 'updatedAt = :now', 'finishedAt = :now'],
      values: { ':status': end.status, ':reason': end.reason },
      ...(end.error ? { error: end.error } : {}),
      remove: ['nextAttemptAt'],
    });
  }

  /** The holder's update that ends its lease; a lease lost meanwhile leaves the record as it is. */
  private async releaseLease(
    claim: MessageClaim,
    nowMs: number,
    update: Pick<Parameters<typeof releaseLease>[0], 'set' | 'values' | 'error' | 'remove'>,
  ): Promise<void> {
    await conditionally(
      this.client.send(
        new UpdateCommand(
          releaseLease({
            tableName: this.tableName,
            key: keys.outbound(claim.id),
            owner: claim.owner,
            nowMs,
            ...update,
          }),
        ),
      ),
    );
  }
}
