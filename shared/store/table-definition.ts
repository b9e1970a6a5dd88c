/**
 * The single table, described once: the CDK stack and the local stack both create it from this,
 * so keys, indexes and the TTL attribute cannot differ between AWS and a laptop.
 */
export const TABLE_DEFINITION = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds. Every item carries it; DynamoDB deletes expired items, up to days late. */
  timeToLiveAttribute: 'expiresAt',
  /**
   * Both sparse: only items carrying the key attributes appear in them.
   * - `byOptinDay`: every opt-in, by the UTC day of its opt-in (`lcm list`, `lcm stats`).
   * - `pending`: opt-ins not ended yet, by when something should next happen to them (the sweeper).
   */
  globalSecondaryIndexes: [
    { indexName: 'byOptinDay', partitionKey: 'listPk', sortKey: 'listSk' },
    { indexName: 'pending', partitionKey: 'sweepPk', sortKey: 'sweepAt' },
  ] as ReadonlyArray<{ indexName: string; partitionKey: string; sortKey: string }>,
} as const;

/** `byOptinDay` partition of an opt-in made at `optinAtMs`. */
export const optinDayKey = (optinAtMs: number) =>
  `OPTINS#${new Date(optinAtMs).toISOString().slice(0, 10)}`;
/** The single `pending` partition: opt-ins not ended are few at any time. */
export const PENDING_KEY = 'PENDING';
/** The partition of the Page states: as few items as there are Pages. */
export const PAGES_KEY = 'PAGES';

/** How a person is known: per Page (`login_id`, PSID) or per app (ASID). */
export type PersonKind = 'login' | 'psid' | 'asid';
export interface PersonId {
  kind: PersonKind;
  id: string;
}

const PREFIX: Record<PersonKind, string> = { login: 'LOGIN#', psid: 'PSID#', asid: 'ASID#' };

/** The partition holding everything about one identifier of a person. */
export const personKey = (person: PersonId) => `${PREFIX[person.kind]}${person.id}`;

/** The identifier a partition key (`LOGIN#x`, `PSID#y`, `ASID#z`) is about; undefined for others. */
export function parsePersonKey(key: string): PersonId | undefined {
  for (const [kind, prefix] of Object.entries(PREFIX) as Array<[PersonKind, string]>) {
    if (key.startsWith(prefix)) return { kind, id: key.slice(prefix.length) };
  }
  return undefined;
}

/**
 * Item keys. Everything about one identifier of a person sits in its own partition
 * (`LOGIN#<login_id>`, `PSID#<psid>`, `ASID#<asid>`), linked to the others by `LINK#` items.
 */
export const keys = {
  optin: (loginId: string) => ({ pk: `LOGIN#${loginId}`, sk: 'OPTIN' }),
  lock: (loginId: string) => ({ pk: `LOGIN#${loginId}`, sk: 'LOCK' }),
  /** Do not message this identifier, through any Page. */
  suppression: (person: PersonId | string) => ({
    pk: typeof person === 'string' ? `LOGIN#${person}` : personKey(person),
    sk: 'SUPPRESSION',
  }),
  /** A person's Page-scoped id: its Page, its `login_id` once linked, its own 24 h window. */
  profile: (psid: string) => ({ pk: `PSID#${psid}`, sk: 'PROFILE' }),
  /** A link from one identifier to another, e.g. `LOGIN#x` → `LINK#PSID#y`. */
  link: (from: PersonId, to: PersonId) => ({ pk: personKey(from), sk: `LINK#${personKey(to)}` }),
  /** A message sent to this identifier, pointing at the item that tracks it (for receipts). */
  sentMessage: (person: PersonId, trackingId: string) => ({
    pk: personKey(person),
    sk: `MSG#${trackingId}`,
  }),
  /** A follow-up message: what to send, to whom, and what became of it. */
  outbound: (id: string) => ({ pk: `OUT#${id}`, sk: 'MESSAGE' }),
  /** From a Messenger message id (`mid`) to the item that tracks it. */
  mid: (mid: string) => ({ pk: `MID#${mid}`, sk: 'MID' }),
  /** Webhook events not handled, kept for a while under the person (PSID) or the Page. */
  event: (owner: { psid?: string; pageId?: string }, sortKey: string) => ({
    pk: owner.psid ? `PSID#${owner.psid}` : `PAGE#${owner.pageId ?? 'unknown'}`,
    sk: `EVENT#${sortKey}`,
  }),
  /**
   * A deleted identifier, by a keyed hash of it (see `tombstoneId`): work that predates the
   * deletion finds it and stops. Holds no personal data.
   */
  tombstone: (hash: string) => ({ pk: `TOMBSTONE#${hash}`, sk: 'TOMBSTONE' }),
  /** The status of a data deletion request, by its confirmation code (holds no personal data). */
  deletion: (code: string) => ({ pk: `DELETION#${code}`, sk: 'DELETION' }),
  /**
   * The health of one Page (paused or not, why, its probe, what the watchdog saw). All Pages sit
   * in one partition, so `lcm pages` lists them with one Query; it holds no personal data.
   */
  pageState: (pageId: string) => ({ pk: PAGES_KEY, sk: `PAGE#${pageId}` }),
  /** Queue messages the sender could not read: one partition, to list them all. */
  rejected: (sortKey: string) => ({ pk: 'QUEUE#REJECTED', sk: sortKey }),
  /**
   * A webhook opt-in that broke the input contract: under the SHA-256 of its `login_id` when that
   * is a string (so `lcm inspect <login_id>` finds it), else under the item's own hash. One item
   * per distinct opt-in item, so redeliveries overwrite it.
   */
  rejectedOptin: (owner: { loginIdSha256?: string; itemSha256: string }) => ({
    pk: owner.loginIdSha256
      ? `REJECTED#LOGIN#${owner.loginIdSha256}`
      : `REJECTED#ITEM#${owner.itemSha256}`,
    sk: `OPTIN#${owner.itemSha256}`,
  }),
};

/** The tracking id of the first message of a `login_id` (its record is the `OPTIN` item). */
export const firstMessageTrackingId = (loginId: string) => `first.${loginId}`;
