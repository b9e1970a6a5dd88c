import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { redactSecrets } from '../redact';
import type { AttemptError } from './optin-store';

/** Small things every store writes the same way. */

export const DAY_S = 86_400;
/** Times are stored as ISO-8601 UTC: readable at a glance, and they sort and compare as strings. */
export const iso = (ms: number) => new Date(ms).toISOString();
/** TTL attributes are epoch seconds. */
export const epochSeconds = (ms: number) => Math.floor(ms / 1000);

/** `#status` for expressions: `status` is a DynamoDB reserved word. */
export const STATUS = { '#status': 'status' };

export function isConditionFailed(
  error: unknown,
): error is Error & { Item?: Record<string, unknown> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

export function isCancelled(
  error: unknown,
): error is Error & { CancellationReasons?: CancellationReason[] } {
  return error instanceof Error && error.name === 'TransactionCanceledException';
}

/** The stored form of an attempt's error: what an operator needs, nothing secret. */
export function errorItem(error: AttemptError, nowMs: number) {
  return {
    at: iso(nowMs),
    attempt: error.attempt,
    kind: error.kind,
    // Redacted where Graph's answer is read; again here, so nothing stored can hold a token.
    message: redactSecrets(error.message),
    ...(error.code !== undefined ? { code: error.code } : {}),
    ...(error.subcode !== undefined ? { subcode: error.subcode } : {}),
    ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
    ...(error.type !== undefined ? { type: error.type } : {}),
    ...(error.fbtraceId !== undefined ? { fbtraceId: error.fbtraceId } : {}),
    ...(error.network !== undefined ? { network: error.network } : {}),
    ...(error.networkCode !== undefined ? { networkCode: error.networkCode } : {}),
  };
}

/** Makes a conditional write: true when it was made, false when its condition did not hold. */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/**
 * The update with which the holder of an attempt's lease ends it: `set` (with `updatedAt = :now`
 * among them), the attempt's error made `lastError` and appended to `errors` when there is one,
 * the lease and `remove` removed; only while `owner` still holds the lease.
 */
export function releaseLease(update: {
  tableName: string;
  key: Record<string, string>;
  owner: string;
  nowMs: number;
  set: readonly string[];
  values: Record<string, unknown>;
  error?: AttemptError;
  remove?: readonly string[];
}) {
  const set = [...update.set];
  const values: Record<string, unknown> = {
    ...update.values,
    ':now': iso(update.nowMs),
    ':owner': update.owner,
  };
  if (update.error !== undefined) {
    const item = errorItem(update.error, update.nowMs);
    set.push('lastError = :error', 'errors = list_append(if_not_exists(errors, :empty), :errors)');
    Object.assign(values, { ':error': item, ':errors': [item], ':empty': [] });
  }
  const remove = ['leaseOwner', 'leaseUntil', ...(update.remove ?? [])];
  return {
    TableName: update.tableName,
    Key: update.key,
    UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
    ConditionExpression: 'leaseOwner = :owner',
    ExpressionAttributeNames: STATUS,
    ExpressionAttributeValues: values,
  };
}

/** What a send sets on the record that tracks it (the caller adds where it went). */
export function sentUpdate(
  sent: { owner: string; messageId?: string; recipientId?: string },
  sentAtMs: number,
  nowMs: number,
): { set: string[]; values: Record<string, unknown> } {
  const set = ['#status = :sent', 'sentAt = :sentAt', 'sentBy = :owner', 'updatedAt = :now'];
  const values: Record<string, unknown> = {
    ':sent': 'sent',
    ':sentAt': iso(sentAtMs),
    ':owner': sent.owner,
    ':now': iso(nowMs),
  };
  if (sent.messageId !== undefined) {
    set.push('messageId = :messageId');
    values[':messageId'] = sent.messageId;
  }
  if (sent.recipientId !== undefined) {
    set.push('recipientId = :recipientId');
    values[':recipientId'] = sent.recipientId;
  }
  return { set, values };
}
