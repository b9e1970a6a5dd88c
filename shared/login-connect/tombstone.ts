import { createHmac } from 'node:crypto';
import type { AppSecrets } from '../secrets';
import type { PersonId } from '../store/table-definition';

/**
 * How long a deleted person's tombstones stop work that predates the deletion. Longer than
 * anything can stay in flight: SQS keeps a message 14 days at most (the DLQ included), and the
 * sweeper only finds records that the deletion removed.
 */
export const TOMBSTONE_DAYS = 30;

/**
 * The key under which a deleted identifier's tombstone is kept: a keyed hash, so the table never
 * holds the identifier itself after a deletion. Keyed with the Messenger app's App Secret, which
 * every function that checks tombstones already reads; rotating that secret orphans tombstones
 * younger than `TOMBSTONE_DAYS`.
 */
export function tombstoneId(person: PersonId, secrets: Pick<AppSecrets, 'appSecret'>): string {
  return createHmac('sha256', secrets.appSecret)
    .update(`tombstone:${person.kind}:${person.id}`)
    .digest('hex');
}
