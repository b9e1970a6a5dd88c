import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignedRequestResult =
  | { ok: true; payload: Record<string, unknown>; userId: string }
  | { ok: false; reason: string };

/**
 * How old a `signed_request` may be (its `issued_at`, epoch seconds): Facebook calls the data
 * deletion callback right when the person asks, so an hour covers delays and retries, and a request
 * captured later cannot be replayed. A few minutes ahead are allowed for clock skew.
 */
export const SIGNED_REQUEST_MAX_AGE_S = 60 * 60;
export const SIGNED_REQUEST_SKEW_S = 5 * 60;

/**
 * Reads Facebook's `signed_request` (data deletion and deauthorize callbacks):
 * `<base64url signature>.<base64url JSON payload>`, where the signature is HMAC-SHA256 with the
 * App Secret over the payload exactly as received, still encoded. The payload must say
 * `algorithm: "HMAC-SHA256"` and carry an `issued_at` at most an hour old.
 */
export function parseSignedRequest(
  signedRequest: string,
  appSecret: string,
  nowMs: number = Date.now(),
): SignedRequestResult {
  const dot = signedRequest.indexOf('.');
  if (dot <= 0 || dot === signedRequest.length - 1)
    return { ok: false, reason: 'not <signature>.<payload>' };
  const encodedSignature = signedRequest.slice(0, dot);
  const encodedPayload = signedRequest.slice(dot + 1);
  if (appSecret === '') return { ok: false, reason: 'no app secret configured' };
  const given = Buffer.from(encodedSignature, 'base64url');
  const expected = createHmac('sha256', appSecret).update(encodedPayload).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature does not match' };
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  if (typeof payload !== 'object' || payload === null)
    return { ok: false, reason: 'payload is not an object' };
  const record = payload as Record<string, unknown>;
  if (typeof record.algorithm !== 'string') return { ok: false, reason: 'no algorithm' };
  if (record.algorithm.toUpperCase() !== 'HMAC-SHA256')
    return { ok: false, reason: `unexpected algorithm ${record.algorithm.slice(0, 40)}` };
  const issuedAt = record.issued_at;
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt))
    return { ok: false, reason: 'no issued_at' };
  const nowS = Math.floor(nowMs / 1000);
  if (issuedAt < nowS - SIGNED_REQUEST_MAX_AGE_S)
    return { ok: false, reason: 'issued_at is more than an hour old' };
  if (issuedAt > nowS + SIGNED_REQUEST_SKEW_S)
    return { ok: false, reason: 'issued_at is in the future' };
  // A user id taken as sent: a number beyond 2^53 would silently name another person.
  const userId =
    typeof record.user_id === 'string' && /^\d{1,32}$/.test(record.user_id)
      ? record.user_id
      : typeof record.user_id === 'number' && Number.isSafeInteger(record.user_id)
        ? String(record.user_id)
        : undefined;
  if (!userId) return { ok: false, reason: 'no user_id' };
  return { ok: true, payload: record, userId };
}

/** Makes a signed_request as Facebook would (for tests and the simulator). */
export function signRequest(payload: Record<string, unknown>, appSecret: string): string {
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${createHmac('sha256', appSecret).update(encoded).digest('base64url')}.${encoded}`;
}
