import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Facebook signs webhook deliveries with. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

/**
 * The request body exactly as Facebook sent it. API Gateway hands over binary or unusual bodies
 * base64-encoded; the signature covers the original bytes, so decode before hashing.
 */
export function rawBodyOf(
  body: string | undefined | null,
  isBase64Encoded: boolean | undefined,
): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  return isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
}

/**
 * Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256 of the raw body keyed with the
 * App Secret, in constant time. The body must not be re-serialised: Facebook signs its own bytes,
 * escapes (`\u00e4`, `\/`) included.
 */
export function isValidSignature(
  rawBody: Buffer,
  header: string | undefined,
  appSecret: string,
): boolean {
  if (header === undefined || appSecret === '') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (match?.[1] === undefined) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}

/** The signature header a correct sender would put on `rawBody` (for tests and the simulator). */
export function signatureFor(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** Case-insensitive header lookup: API Gateway lower-cases names, other callers may not. */
export function headerValue(
  headers: Record<string, string | undefined> | undefined | null,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
