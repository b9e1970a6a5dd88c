import { createHash, timingSafeEqual } from 'node:crypto';

export type HandshakeResult =
  | { ok: true; challenge: string }
  | { ok: false; statusCode: 400 | 403; reason: string };

/**
 * The webhook verification handshake: Facebook sends `hub.mode=subscribe`, the Verify Token the
 * operator typed in, and a challenge we must echo back.
 */
export function verifySubscription(
  query: Record<string, string | undefined> | undefined | null,
  verifyToken: string,
): HandshakeResult {
  const mode = query?.['hub.mode'];
  const token = query?.['hub.verify_token'];
  const challenge = query?.['hub.challenge'];
  if (mode !== 'subscribe' || challenge === undefined || challenge === '') {
    return { ok: false, statusCode: 400, reason: 'not a subscription handshake' };
  }
  if (token === undefined || verifyToken === '' || !sameSecret(token, verifyToken)) {
    return { ok: false, statusCode: 403, reason: 'verify token does not match' };
  }
  return { ok: true, challenge };
}

/** Constant-time comparison of two strings of any length (hashing first evens the lengths). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
