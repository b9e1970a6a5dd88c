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
