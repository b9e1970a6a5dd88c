import { sameSecret } from '../webhook/handshake';
import { headerValue } from '../webhook/signature';

/** Shorter keys are ignored: an API key must not be guessable. */
export const MIN_API_KEY_LENGTH = 24;

/** The usable keys of the secret's `apiKeys`, whichever form it takes. */
export function apiKeysOf(apiKeys: string[] | Record<string, string> | undefined): string[] {
  const all = Array.isArray(apiKeys) ? apiKeys : Object.values(apiKeys ?? {});
  return all.filter((key) => key.length >= MIN_API_KEY_LENGTH);
}

/** True when `Authorization: Bearer <key>` carries one of the keys (compared in constant time). */
export function isAuthorized(
  headers: Record<string, string | undefined> | undefined,
  keys: string[],
): boolean {
  const header = headerValue(headers, 'authorization');
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  const given = match?.[1];
  if (given === undefined) return false;
  // Compare against every key, so the time taken does not say which one (or whether any) matched.
  let ok = false;
  for (const key of keys) ok = sameSecret(given, key) || ok;
  return ok;
}
