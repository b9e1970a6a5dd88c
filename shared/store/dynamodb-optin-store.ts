import { createHash, randomUUID } from 'node:crypto';
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { windowEndsAt } from '../login-connect/window';
import type { EventJob, RejectedOptinJob } from '../messages';
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
  type AttemptError,
  type Claim,
  type ClaimResult,
  type OptinRef,
  type OptinStatus,
  type OptinStore,
  type ParkResult,
  type RecordOutcome,
  type Retention,
  type SentFacts,
  type SettleResult,
  type StaleOptin,
  TERMINAL_STATUSES,
  type TerminalStatus,
} from './optin-store';
import { rejectedOptinItem } from './rejected-optin-item';
import { firstMessageTrackingId, keys, optinDayKey, PENDING_KEY } from './table-definition';

/** Larger payloads are stored as truncated text so an item stays far below DynamoDB's 400 KB. */
const MAX_STORED_PAYLOAD_CHARS = 64_000;

/**
 * How long past its end an expired lease is still respected: time for a hand-over job (a send
 * its holder could not record) to reach the record before anyone takes the attempt over.
 */
export const takeoverGraceMs = (leaseMs: number) => Math.min(30_000, leaseMs);

/** How long after its claim an attempt may still write: its lease, then its hand-over grace. */
export const inFlightSeconds = (leaseSeconds: number) =>
  leaseSeconds + Math.ceil(takeoverGraceMs(leaseSeconds * 1000) / 1000);

/** An opt-in that nobody holds and that has not ended. */
const NOT_ENDED = '#status = :pending OR (#status = :sending AND leaseUntil < :now)';

/** Attribute names that are DynamoDB reserved words (DynamoDB refuses unused ones). */
const NAMES = { '#status': 'status', '#type': 'type' };

/** A transient failure to record a send (a conflict, throttling): worth trying again. */
export class RecordSendError extends Error {
  override name = 'RecordSendError';
}

/** Whether a stored `sent` record is this very send (an earlier try whose answer was lost). */
export function sameSend(old: Record<string, unknown>, sent: SentFacts): boolean {
  if (sent.messageId !== undefined) return old.messageId === sent.messageId;
  return old.sentBy === sent.owner;
}

/**
 * Why a claim found the record taken (not ended, not ours): an expired lease is given up only
 * after a grace, in which a send its holder could not record reaches the record through the queue
 * (see `recordOrHandOver`); otherwise the record is busy until its lease or next attempt is due.
 */
export function refusedByHolder(
  old: Record<string, unknown>,
  nowMs: number,
  leaseMs: number,
): { outcome: 'abandoned'; owner: string } | { outcome: 'busy'; untilMs: number } {
  if (old.status === 'sending' && typeof old.leaseOwner === 'string') {
    const abandonedAtMs = Date.parse(String(old.leaseUntil)) + takeoverGraceMs(leaseMs);
    if (abandonedAtMs < nowMs) return { outcome: 'abandoned', owner: old.leaseOwner };
    if (!Number.isNaN(abandonedAtMs)) return { outcome: 'busy', untilMs: abandonedAtMs + 1 };
  }
  const until = old.status === 'sending' ? old.leaseUntil : old.nextAttemptAt;
  const untilMs = typeof until === 'string' ? Date.parse(until) : Number.NaN;
  return { outcome: 'busy', untilMs: Number.isNaN(untilMs) ? nowMs + 1000 : untilMs };
}

/** Whether the record a claim found is still ours: our claim took effect, only its answer was lost. */
export function ownClaim(
  old: Record<string, unknown> | undefined,
  owner: string,
): number | undefined {
  return old?.status === 'sending' && old.leaseOwner === owner && typeof old.leaseUntil === 'string'
    ? Date.parse(old.leaseUntil)
    : undefined;
}

/**
 * What a refused write of a send means, from the item its condition found: none, `gone`; a
 * `sent` one, this very send (an earlier try whose answer was lost) or another; anything else,
 * the lease was lost.
 */
export function refusedSend(
  old: Record<string, unknown> | undefined,
  sent: SentFacts,
  sameRecord: (old: Record<string, unknown>) => boolean = () => true,
): RecordOutcome | 'lease_lost' {
  if (old === undefined || !sameRecord(old)) return 'gone';
  if (old.status === 'sent') return sameSend(old, sent) ? 'recorded' : 'already_sent';
  return 'lease_lost';
}

/** The error for a cancelled write of a send that no condition explains (conflict, throttling). */
export function cancelledSend(reasons: readonly CancellationReason[] | undefined): RecordSendError {
  return new RecordSendError(
    `recording the send was cancelled: ${(reasons ?? []).map((r) => r.Code).join(', ')}`,
  );
}

/** The old item a failed condition returned, or undefined. */
function failedItem(reason: CancellationReason | undefined): Record<string, unknown> | undefined {
  if (reason?.Code !== 'ConditionalCheckFailed' || reason.Item === undefined) return undefined;
  return unmarshall(reason.Item);
}

/**
 * The part of an opt-in record that its first writer sets and later writers keep: who, which Page,
 * when, the window and the TTL. Shared by every write that may create the record.
 */
const CREATE_IF_MISSING = [
  '#type = :type',
  'loginId = if_not_exists(loginId, :loginId)',
  'pageId = if_not_exists(pageId, :pageId)',
  'optinAt = if_not_exists(optinAt, :optinAt)',
  'windowEndsAt = if_not_exists(windowEndsAt, :windowEndsAt)',
  'receivedAt = if_not_exists(receivedAt, :receivedAt)',
  'expiresAt = if_not_exists(expiresAt, :expiresAt)',
  'listPk = if_not_exists(listPk, :listPk)',
  'listSk = if_not_exists(listSk, :listSk)',
].join(', ');

function createIfMissingValues(optin: OptinRef, retention: Retention, expiresFromMs: number) {
  const windowEndMs = windowEndsAt(optin.optinAtMs);
  return {
    ':type': 'optin',
    ':loginId': optin.loginId,
    ':pageId': optin.pageId,
    ':optinAt': iso(optin.optinAtMs),
    ':windowEndsAt': iso(windowEndMs),
    ':receivedAt': iso(optin.receivedAtMs),
    ':expiresAt': epochSeconds(Math.max(windowEndMs, expiresFromMs)) + retention.optinDays * DAY_S,
    ':sources': new Set([optin.source]),
    ':listPk': optinDayKey(optin.optinAtMs),
    ':listSk': `${iso(optin.optinAtMs)}#${optin.loginId}`,
  };
}

/** An opt-in not ended, as the `pending` index holds it. */
function staleOptinOf(item: Record<string, unknown>): StaleOptin {
  const sources = item.sources instanceof Set ? [...item.sources] : [];
  return {
    loginId: String(item.loginId),
    pageId: String(item.pageId),
    optinAtMs: Date.parse(String(item.optinAt)),
    receivedAtMs: Date.parse(String(item.receivedAt)),
    source: sources.includes('webhook') ? 'webhook' : 'login',
    status: item.status as OptinStatus,
    sweepAt: String(item.sweepAt),
    windowEndsAtMs: Date.parse(String(item.windowEndsAt)),
  };
}

/**
 * The single-table DynamoDB implementation of the Login Connect rules. Per `login_id`, under
 * `LOGIN#<login_id>`: `OPTIN` (the story an operator reads), `LOCK` (the Page the first message
 * went through) and `SUPPRESSION` (do not message). See the README for every attribute.
 */
export class DynamoDbOptinStore implements OptinStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: Retention,
    private readonly newOwner: () => string = randomUUID,
  ) {}

  async claim(
    optin: OptinRef,
    nowMs: number,
    leaseMs: number,
    options: { takeover?: boolean } = {},
  ): Promise<ClaimResult> {
    const owner = this.newOwner();
    const lock = (await this.lockedElsewhere(optin)) ? 'checked' : 'read';
    const claimed = await this.claimWrite(optin, nowMs, leaseMs, owner, lock, {
      condition:
        'attribute_not_exists(pk) OR (pageId = :pageId AND windowEndsAt > :now AND ' +
        '#status = :pending AND (attribute_not_exists(nextAttemptAt) OR nextAttemptAt <= :now))',
      values: { ':pending': 'pending' },
    });
    if (claimed === true) return this.claimed(optin, owner, nowMs + leaseMs, false);
    const refused = await this.explainRefusedClaim(optin, claimed, nowMs, owner, leaseMs);
    if (refused.outcome !== 'abandoned' || !options.takeover) return refused;
    // Another attempt's lease ran out: take it over, unless someone else just did. Rare, so the
    // LOCK is checked in the transaction again rather than read a second time.
    const taken = await this.claimWrite(optin, nowMs, leaseMs, owner, 'checked', {
      condition:
        'pageId = :pageId AND windowEndsAt > :now AND #status = :sending AND ' +
        'leaseOwner = :previous AND leaseUntil < :now',
      values: { ':sending': 'sending', ':previous': refused.owner },
    });
    if (taken === true) return this.claimed(optin, owner, nowMs + leaseMs, true);
    return this.explainRefusedClaim(optin, taken, nowMs, owner, leaseMs);
  }

  /**
   * Whether a LOCK of another Page is there (a strongly consistent read, before the claim).
   * Usually none is: the claim's transaction then leaves the LOCK out, and costs 6 write units
   * instead of 8. When one is, the transaction checks it too, so a refused claim is explained
   * exactly as before (a terminal OPTIN first).
   *
   * A LOCK written after this read cannot be missed: every LOCK write turns this `login_id`'s
   * OPTIN `sent` in the same transaction (a first message recorded, or a hand-over), and the
   * claim's own condition refuses a `sent` OPTIN. The SUPPRESSION is not read here but checked in
   * the transaction, as before: an opt-out committed before the claim is always seen.
   */
  private async lockedElsewhere(optin: OptinRef): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.lock(optin.loginId),
        ConsistentRead: true,
        ProjectionExpression: 'pageId',
      }),
    );
    return Item !== undefined && Item.pageId !== optin.pageId;
  }

  private claimed(optin: OptinRef, owner: string, leaseUntilMs: number, takeover: boolean) {
    return {
      outcome: 'claimed' as const,
      claim: { loginId: optin.loginId, pageId: optin.pageId, owner, leaseUntilMs },
      takeover,
    };
  }

  /**
   * The claim: the OPTIN taken under `condition` (created if missing), checked together with the
   * SUPPRESSION (none), the person's deletion and, with `lock: 'checked'`, the LOCK (none, or this
   * Page; with `lock: 'read'`, `lockedElsewhere` found none). True, or the cancellation reasons,
   * always in the order OPTIN, LOCK, SUPPRESSION, TOMBSTONE (`{ Code: 'None' }` for the LOCK when
   * it was read instead).
   */
  private async claimWrite(
    optin: OptinRef,
    nowMs: number,
    leaseMs: number,
    owner: string,
    lock: 'checked' | 'read',
    when: { condition: string; values: Record<string, unknown> },
  ): Promise<true | CancellationReason[]> {
    const leaseUntil = iso(nowMs + leaseMs);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.optin(optin.loginId),
                UpdateExpression:
                  `SET ${CREATE_IF_MISSING}, #status = :sending, leaseOwner = :owner, leaseUntil = :leaseUntil, ` +
                  'sweepPk = :pendingKey, sweepAt = :leaseUntil, ' +
                  'attempts = if_not_exists(attempts, :zero) + :one, lastAttemptAt = :now, updatedAt = :now ' +
                  'REMOVE nextAttemptAt, waitingFor ADD sources :sources',
                ConditionExpression: when.condition,
                ExpressionAttributeNames: NAMES,
                ExpressionAttributeValues: {
                  ...createIfMissingValues(optin, this.retention, nowMs),
                  ':sending': 'sending',
                  ':owner': owner,
                  ':leaseUntil': leaseUntil,
                  ':pendingKey': PENDING_KEY,
                  ':zero': 0,
                  ':one': 1,
                  ':now': iso(nowMs),
                  ...when.values,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...(lock === 'checked'
              ? [
                  {
                    ConditionCheck: {
                      TableName: this.tableName,
                      Key: keys.lock(optin.loginId),
                      ConditionExpression: 'attribute_not_exists(pk) OR pageId = :pageId',
                      ExpressionAttributeValues: { ':pageId': optin.pageId },
                      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
                    },
                  },
                ]
              : []),
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: keys.suppression(optin.loginId),
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...this.notDeleted(optin),
          ],
        }),
      );
      return true;
    } catch (error) {
      if (!isCancelled(error)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (lock === 'checked') return reasons;
      const [optinReason, ...rest] = reasons;
      return [optinReason ?? { Code: 'None' }, { Code: 'None' }, ...rest];
    }
  }

  /**
   * Writes `update` to the opt-in; when the person can be checked for a deletion, in one
   * transaction with that check. `refused` carries the item the update's condition found (none:
   * undefined); `cancelled`, a transaction no condition explains (a conflict, throttling).
   */
  private async writeUnlessDeleted(
    optin: OptinRef,
    update: UpdateCommandInput & { UpdateExpression: string },
  ): Promise<
    | { outcome: 'written' }
    | { outcome: 'deleted' }
    | { outcome: 'refused'; old: Record<string, unknown> | undefined }
    | {
        outcome: 'cancelled';
        error: Error & { CancellationReasons?: CancellationReason[] };
      }
  > {
    try {
      if (optin.tombstone === undefined) await this.client.send(new UpdateCommand(update));
      else
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [{ Update: update }, ...this.notDeleted(optin)],
          }),
        );
      return { outcome: 'written' };
    } catch (error) {
      if (isConditionFailed(error))
        return {
          outcome: 'refused',
          old: error.Item ? unmarshall(error.Item as never) : undefined,
        };
      if (!isCancelled(error)) throw error;
      const [optinReason, tombstoneReason] = error.CancellationReasons ?? [];
      if (tombstoneReason?.Code === 'ConditionalCheckFailed') return { outcome: 'deleted' };
      if (optinReason?.Code !== 'ConditionalCheckFailed') return { outcome: 'cancelled', error };
      return { outcome: 'refused', old: failedItem(optinReason) };
    }
  }

  /** The check that the person was not deleted after this opt-in was made (when it can be told). */
  private notDeleted(optin: OptinRef) {
    if (optin.tombstone === undefined) return [];
    return [
      {
        ConditionCheck: {
          TableName: this.tableName,
          Key: keys.tombstone(optin.tombstone),
          ConditionExpression: 'attribute_not_exists(pk) OR deletedAt < :optinAt',
          ExpressionAttributeValues: { ':optinAt': iso(optin.optinAtMs) },
        },
      },
    ];
  }

  async abandon(loginId: string, owner: string, reason: string, nowMs: number): Promise<boolean> {
    const update = releaseLease({
      tableName: this.tableName,
      key: keys.optin(loginId),
      owner,
      nowMs,
      set: [
        '#status = :unknown',
        'statusReason = :reason',
        'updatedAt = :now',
        'finishedAt = :now',
      ],
      values: { ':unknown': 'unknown', ':reason': reason, ':sending': 'sending' },
      remove: ['nextAttemptAt', 'sweepPk', 'sweepAt'],
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

  /** Transactions return nothing on success, so the count is read back, strongly consistent. */
  async attempts(claim: Claim): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.optin(claim.loginId),
        ProjectionExpression: 'attempts',
        ConsistentRead: true,
      }),
    );
    return typeof Item?.attempts === 'number' ? Item.attempts : 1;
  }

  private async explainRefusedClaim(
    optin: OptinRef,
    reasons: CancellationReason[],
    nowMs: number,
    owner: string,
    leaseMs: number,
  ): Promise<ClaimResult> {
    const [optinReason, lockReason, suppressionReason, tombstoneReason] = reasons;
    if (reasons.some((r) => r.Code === 'TransactionConflict')) {
      // Another worker is writing the same items right now; look again in a moment.
      return { outcome: 'busy', untilMs: nowMs + 1000 };
    }
    if (tombstoneReason?.Code === 'ConditionalCheckFailed') return { outcome: 'deleted' };
    let old = failedItem(optinReason);
    if (old === undefined && optinReason?.Code === 'ConditionalCheckFailed') {
      old = (
        await this.client.send(
          new GetCommand({
            TableName: this.tableName,
            Key: keys.optin(optin.loginId),
            ConsistentRead: true,
          }),
        )
      ).Item;
    }
    if (old !== undefined && TERMINAL_STATUSES.has(String(old.status))) {
      return { outcome: 'done', status: old.status as TerminalStatus };
    }
    // Our own claim took effect and only its answer was lost (the SDK retried it): it is ours.
    const ownUntilMs = ownClaim(old, owner);
    if (ownUntilMs !== undefined) return this.claimed(optin, owner, ownUntilMs, false);
    if (suppressionReason?.Code === 'ConditionalCheckFailed') {
      const item = failedItem(suppressionReason);
      return { outcome: 'suppressed', reason: String(item?.reason ?? 'suppressed') };
    }
    if (lockReason?.Code === 'ConditionalCheckFailed') {
      const item = failedItem(lockReason);
      return { outcome: 'locked', lockedPageId: String(item?.pageId ?? 'unknown') };
    }
    if (old !== undefined) {
      const now = iso(nowMs);
      if (old.pageId !== optin.pageId)
        return { outcome: 'conflict', storedPageId: String(old.pageId) };
      if (typeof old.windowEndsAt === 'string' && old.windowEndsAt <= now)
        return { outcome: 'expired' };
      return refusedByHolder(old, nowMs, leaseMs);
    }
    throw new Error(
      `Claim refused for an unknown reason: ${JSON.stringify(reasons.map((r) => r.Code))}`,
    );
  }

  async markSent(
    claim: Claim,
    sent: { messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome> {
    const facts = { ...sent, owner: claim.owner, loginId: claim.loginId, pageId: claim.pageId };
    const byHolder = await this.recordSent(facts, nowMs, nowMs, true);
    if (byHolder !== 'lease_lost') return byHolder;
    // The lease ran out before we could record. The message did go out, so record it anyway.
    return this.recordHandedOver({ ...facts, sentAtMs: nowMs }, nowMs);
  }

  async recordHandedOver(
    sent: SentFacts & { loginId: string; pageId: string; sentAtMs: number; optinAtMs?: number },
    nowMs: number,
  ): Promise<RecordOutcome> {
    const outcome = await this.recordSent(sent, sent.sentAtMs, nowMs, false, true, sent.optinAtMs);
    // Not reached: without the holder's condition, only a missing or `sent` record refuses.
    if (outcome === 'lease_lost') throw new RecordSendError('the record refused the send');
    return outcome;
  }

  /**
   * One transaction: the OPTIN becomes `sent` (only if it exists; by the lease holder, or over any
   * status but `sent`), the LOCK (unless another Page holds it) and the receipt pointers. Reads the
   * cancellation reasons: a condition that failed because this very send is already recorded (an
   * earlier try whose answer was lost) is success; conflicts and throttling are thrown.
   */
  private async recordSent(
    sent: SentFacts & { loginId: string; pageId: string },
    sentAtMs: number,
    nowMs: number,
    asHolder: boolean,
    withLock = true,
    optinAtMs?: number,
  ): Promise<RecordOutcome | 'lease_lost'> {
    const sentAt = iso(sentAtMs);
    const { set, values } = sentUpdate(sent, sentAtMs, nowMs);
    set.push('lockedPageId = :pageId');
    values[':pageId'] = sent.pageId;
    if (!withLock) set.push('lockConflict = :true');
    if (!withLock) values[':true'] = true;
    // Only over the very opt-in that was sent, never over a newer one.
    const sameOptin = optinAtMs !== undefined ? ' AND optinAt = :optinAt' : '';
    if (optinAtMs !== undefined) values[':optinAt'] = iso(optinAtMs);
    const pointerExpiry = epochSeconds(nowMs) + this.retention.lockDays * DAY_S;
    const pointer = (key: { pk: string; sk: string }, type: string) => ({
      Put: {
        TableName: this.tableName,
        Item: { ...key, type, ref: keys.optin(sent.loginId), expiresAt: pointerExpiry },
      },
    });
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.optin(sent.loginId),
                UpdateExpression: `SET ${set.join(', ')} REMOVE leaseOwner, leaseUntil, nextAttemptAt, statusReason, sweepPk, sweepAt`,
                ConditionExpression: asHolder
                  ? `leaseOwner = :owner${sameOptin}`
                  : `attribute_exists(pk) AND #status <> :sent${sameOptin}`,
                ExpressionAttributeNames: STATUS,
                ExpressionAttributeValues: values,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...(withLock
              ? [
                  {
                    Put: {
                      TableName: this.tableName,
                      Item: {
                        ...keys.lock(sent.loginId),
                        type: 'lock',
                        loginId: sent.loginId,
                        pageId: sent.pageId,
                        lockedAt: sentAt,
                        ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
                        expiresAt: epochSeconds(nowMs) + this.retention.lockDays * DAY_S,
                      },
                      ConditionExpression: 'attribute_not_exists(pk) OR pageId = :pageId',
                      ExpressionAttributeValues: { ':pageId': sent.pageId },
                    },
                  },
                ]
              : []),
            // Receipts name the message by `mid`, or the person by PSID (when Graph returned one).
            ...(sent.messageId !== undefined ? [pointer(keys.mid(sent.messageId), 'mid')] : []),
            ...(sent.recipientId !== undefined
              ? [
                  pointer(
                    keys.sentMessage(
                      { kind: 'psid', id: sent.recipientId },
                      firstMessageTrackingId(sent.loginId),
                    ),
                    'sent_message',
                  ),
                ]
              : []),
          ],
        }),
      );
      return 'recorded';
    } catch (error) {
      if (!isCancelled(error)) throw error;
      const [optinReason, lockReason] = error.CancellationReasons ?? [];
      if (optinReason?.Code === 'ConditionalCheckFailed') {
        // A newer opt-in (a new consent since a deletion) is not this send's record.
        return refusedSend(
          failedItem(optinReason),
          sent,
          (old) => optinAtMs === undefined || old.optinAt === iso(optinAtMs),
        );
      }
      if (
        withLock &&
        lockReason?.Code === 'ConditionalCheckFailed' &&
        optinReason?.Code === 'None'
      ) {
        // Another Page holds the lock: the send still happened; record it, keep their lock.
        return this.recordSent(sent, sentAtMs, nowMs, asHolder, false, optinAtMs);
      }
      throw cancelledSend(error.CancellationReasons);
    }
  }

  async markRetry(
    claim: Claim,
    error: AttemptError,
    retryAtMs: number,
    nowMs: number,
  ): Promise<boolean> {
    return conditionally(
      this.client.send(
        new UpdateCommand(
          releaseLease({
            tableName: this.tableName,
            key: keys.optin(claim.loginId),
            owner: claim.owner,
            nowMs,
            set: [
              '#status = :pending',
              'nextAttemptAt = :retryAt',
              'updatedAt = :now',
              'sweepAt = :retryAt',
            ],
            values: { ':pending': 'pending', ':retryAt': iso(retryAtMs) },
            error,
          }),
        ),
      ),
    );
  }

  async finish(
    claim: Claim,
    end: { status: TerminalStatus; reason: string; error?: AttemptError; suppress?: boolean },
    nowMs: number,
  ): Promise<boolean> {
    const now = iso(nowMs);
    const items: NonNullable<
      ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
    > = [
      {
        Update: releaseLease({
          tableName: this.tableName,
          key: keys.optin(claim.loginId),
          owner: claim.owner,
          nowMs,
          set: [
            '#status = :status',
            'statusReason = :reason',
            'updatedAt = :now',
            'finishedAt = :now',
          ],
          values: { ':status': end.status, ':reason': end.reason },
          ...(end.error !== undefined ? { error: end.error } : {}),
          remove: ['nextAttemptAt', 'sweepPk', 'sweepAt'],
        }),
      },
    ];
    if (end.suppress) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: {
            ...keys.suppression(claim.loginId),
            type: 'suppression',
            loginId: claim.loginId,
            pageId: claim.pageId,
            reason: end.reason,
            source: 'send_api',
            ...(end.error?.code !== undefined ? { code: end.error.code } : {}),
            ...(end.error?.subcode !== undefined ? { subcode: end.error.subcode } : {}),
            suppressedAt: now,
            expiresAt: epochSeconds(nowMs) + this.retention.suppressionDays * DAY_S,
          },
        },
      });
    }
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (isCancelled(error)) return false;
      throw error;
    }
  }

  async settle(
    optin: OptinRef,
    end: { status: TerminalStatus; reason: string },
    nowMs: number,
  ): Promise<SettleResult> {
    const now = iso(nowMs);
    const update = {
      TableName: this.tableName,
      Key: keys.optin(optin.loginId),
      UpdateExpression:
        `SET ${CREATE_IF_MISSING}, #status = :status, statusReason = :reason, ` +
        'attempts = if_not_exists(attempts, :zero), updatedAt = :now, finishedAt = :now ' +
        'REMOVE leaseOwner, leaseUntil, nextAttemptAt, sweepPk, sweepAt ADD sources :sources',
      // Created only when the person can be checked for a deletion (see `OptinRef.tombstone`).
      ConditionExpression:
        optin.tombstone !== undefined
          ? `attribute_not_exists(pk) OR ${NOT_ENDED}`
          : `attribute_exists(pk) AND (${NOT_ENDED})`,
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ...createIfMissingValues(optin, this.retention, nowMs),
        ':status': end.status,
        ':reason': end.reason,
        ':zero': 0,
        ':now': now,
        ':pending': 'pending',
        ':sending': 'sending',
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    const written = await this.writeUnlessDeleted(optin, update);
    if (written.outcome === 'written') return { outcome: 'recorded' };
    if (written.outcome === 'cancelled') throw written.error;
    const old = written.outcome === 'refused' ? written.old : undefined;
    if (old === undefined) return { outcome: 'deleted' };
    if (TERMINAL_STATUSES.has(String(old.status))) {
      return { outcome: 'done', status: old.status as TerminalStatus };
    }
    const untilMs = typeof old.leaseUntil === 'string' ? Date.parse(old.leaseUntil) : nowMs + 1000;
    return { outcome: 'busy', untilMs };
  }

  async stale(beforeMs: number, limit: number): Promise<StaleOptin[]> {
    const found: StaleOptin[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'pending',
          KeyConditionExpression: 'sweepPk = :pending AND sweepAt <= :before',
          ExpressionAttributeValues: { ':pending': PENDING_KEY, ':before': iso(beforeMs) },
          Limit: limit - found.length,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) found.push(staleOptinOf(item));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  async deferSweep(loginId: string, seenSweepAt: string, nextMs: number): Promise<boolean> {
    return conditionally(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.optin(loginId),
          UpdateExpression: 'SET sweepAt = :next',
          ConditionExpression: 'sweepAt = :seen',
          ExpressionAttributeValues: { ':next': iso(nextMs), ':seen': seenSweepAt },
        }),
      ),
    );
  }

  async park(
    optin: OptinRef,
    retryAtMs: number,
    waitingFor: string,
    nowMs: number,
  ): Promise<ParkResult> {
    const update = {
      TableName: this.tableName,
      Key: keys.optin(optin.loginId),
      UpdateExpression:
        `SET ${CREATE_IF_MISSING}, #status = if_not_exists(#status, :pending), ` +
        'attempts = if_not_exists(attempts, :zero), waitingFor = :waitingFor, ' +
        'sweepPk = :pendingKey, sweepAt = :retryAt, updatedAt = :now ADD sources :sources',
      // Created only when the person can be checked for a deletion (see `OptinRef.tombstone`).
      ConditionExpression:
        optin.tombstone !== undefined
          ? 'attribute_not_exists(pk) OR (#status = :pending AND pageId = :pageId)'
          : 'attribute_exists(pk) AND #status = :pending AND pageId = :pageId',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ...createIfMissingValues(optin, this.retention, nowMs),
        ':pending': 'pending',
        ':zero': 0,
        ':waitingFor': waitingFor,
        ':pendingKey': PENDING_KEY,
        ':retryAt': iso(retryAtMs),
        ':now': iso(nowMs),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    const written = await this.writeUnlessDeleted(optin, update);
    if (written.outcome === 'written') return { outcome: 'parked' };
    if (written.outcome === 'deleted') return { outcome: 'deleted' };
    if (written.outcome === 'cancelled') {
      if ((written.error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict'))
        return { outcome: 'busy' };
      throw written.error;
    }
    const old = written.old;
    if (old === undefined) return { outcome: 'deleted' };
    if (TERMINAL_STATUSES.has(String(old.status)))
      return { outcome: 'done', status: old.status as TerminalStatus };
    if (old.pageId !== optin.pageId)
      return { outcome: 'conflict', storedPageId: String(old.pageId) };
    return { outcome: 'busy' };
  }

  async waitingOn(pageId: string, limit: number): Promise<StaleOptin[]> {
    const found: StaleOptin[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'pending',
          KeyConditionExpression: 'sweepPk = :pending',
          FilterExpression: 'pageId = :pageId AND #status = :pendingStatus',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':pending': PENDING_KEY,
            ':pageId': pageId,
            ':pendingStatus': 'pending',
          },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (found.length < limit) found.push(staleOptinOf(item));
      }
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }

  async wake(loginId: string, seenSweepAt: string, nowMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.optin(loginId),
          UpdateExpression: 'SET sweepAt = :now, updatedAt = :now REMOVE nextAttemptAt, waitingFor',
          ConditionExpression: 'sweepAt = :seen AND #status = :pending',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':now': iso(nowMs),
            ':seen': seenSweepAt,
            ':pending': 'pending',
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async recordEvent(job: EventJob, nowMs: number): Promise<void> {
    const payloadJson = JSON.stringify(job.payload ?? null);
    const digest = createHash('sha256').update(payloadJson).digest('hex').slice(0, 12);
    const at = iso(job.timestamp ?? job.receivedAt);
    const truncated = payloadJson.length > MAX_STORED_PAYLOAD_CHARS;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.event({ psid: job.psid, pageId: job.pageId }, `${at}#${job.eventType}#${digest}`),
          type: 'event',
          eventType: job.eventType,
          channel: job.channel,
          ...(job.pageId !== undefined ? { pageId: job.pageId } : {}),
          ...(job.psid !== undefined ? { psid: job.psid } : {}),
          eventAt: at,
          receivedAt: iso(job.receivedAt),
          handled: false,
          ...(truncated
            ? {
                payloadText: payloadJson.slice(0, MAX_STORED_PAYLOAD_CHARS),
                payloadTruncated: true,
              }
            : { payload: job.payload ?? null }),
          expiresAt: epochSeconds(nowMs) + this.retention.eventDays * DAY_S,
        },
      }),
    );
  }

  async recordRejected(
    rejected: { messageId: string; body: string; reason: string },
    nowMs: number,
  ): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.rejected(`${iso(nowMs)}#${rejected.messageId}`),
          type: 'rejected',
          messageId: rejected.messageId,
          reason: rejected.reason.slice(0, 2000),
          body: rejected.body.slice(0, MAX_STORED_PAYLOAD_CHARS),
          rejectedAt: iso(nowMs),
          expiresAt: epochSeconds(nowMs) + this.retention.eventDays * DAY_S,
        },
      }),
    );
  }

  async recordRejectedOptin(job: RejectedOptinJob, nowMs: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: rejectedOptinItem(job, this.retention, nowMs),
      }),
    );
  }
}
