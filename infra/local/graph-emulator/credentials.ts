/** Credentials of Graph calls: the Page token, where it came from, and `appsecret_proof`. */
import { createHash, createHmac } from 'node:crypto';
import type { AppSecrets } from '../../../shared/secrets';
import { REFUSE, type Refusal } from './refusals';
import type { RecordedRequest } from './types';

/** hex HMAC-SHA256(appSecret, token), computed here rather than imported from our client, so
 * that a bug in the client's computation cannot be mirrored by the emulator. */
export function expectedProof(token: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(token).digest('hex');
}

/** What the emulator keeps of a revoked token. */
export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The Page token, from the first place that has one: body, query, then an `Authorization`
 * header. UNCONFIRMED for Messenger: the Bearer header (documented for the same host by the
 * WhatsApp Cloud API), accepted to be liberal.
 */
export function findToken(
  body: Record<string, unknown>,
  query: Record<string, unknown>,
  header: string | undefined,
): { token: string; tokenIn: 'body' | 'query' | 'header' } | undefined {
  if (typeof body.access_token === 'string' && body.access_token !== '') {
    return { token: body.access_token, tokenIn: 'body' };
  }
  if (typeof query.access_token === 'string' && query.access_token !== '') {
    return { token: query.access_token, tokenIn: 'query' };
  }
  const bearer = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(header ?? '');
  if (bearer?.[1]) return { token: bearer[1], tokenIn: 'header' };
  return undefined;
}

/** A proof that is present must be right; an absent one is refused when it is required. */
export function checkProof(
  proof: unknown,
  token: string,
  appSecret: string,
  required: boolean,
): Refusal | undefined {
  if (proof === undefined || proof === '') return required ? REFUSE.needProof() : undefined;
  if (typeof proof !== 'string' || proof.toLowerCase() !== expectedProof(token, appSecret)) {
    return REFUSE.badProof();
  }
  return undefined;
}

/** A call that must carry one of the secret's Page tokens (sends and subscribed_apps). */
export interface PageCall {
  body: Record<string, unknown>;
  query: Record<string, unknown>;
  authorization: string | undefined;
  /** What a call without a token is answered. */
  noToken: Refusal;
}

/**
 * The Page whose token the call carries, or the refusal. As it goes, notes in `entry` where the
 * token was found and, once it is a valid one, its Page.
 */
export function authenticatePage(
  call: PageCall,
  secrets: AppSecrets,
  options: { requireProof: boolean; isRevoked: (pageId: string, token: string) => boolean },
  entry: RecordedRequest,
): string | Refusal {
  const found = findToken(call.body, call.query, call.authorization);
  if (!found) return call.noToken;
  entry.tokenIn = found.tokenIn;
  const pageId = Object.entries(secrets.pages).find(
    ([, page]) => page.accessToken === found.token,
  )?.[0];
  if (pageId === undefined) return REFUSE.badToken();
  if (options.isRevoked(pageId, found.token)) return REFUSE.revoked();
  entry.pageId = pageId;
  // Graph reads parameters from both; the body wins where both have one.
  const proof = { ...call.query, ...call.body }.appsecret_proof;
  return checkProof(proof, found.token, secrets.appSecret, options.requireProof) ?? pageId;
}
