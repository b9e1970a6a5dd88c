/**
 * The single table, described once: the CDK stack and the local stack both create it from this,
 * so keys, indexes and the TTL attribute cannot differ between AWS and a laptop.
 */
export const TABLE_DEFINITION = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds. Every item carries it; DynamoDB deletes expired items, up to days late. */
  timeToLiveAttribute: 'expiresAt',
  globalSecondaryIndexes: [] as ReadonlyArray<{
    indexName: string;
    partitionKey: string;
    sortKey: string;
  }>,
} as const;

/** Item keys. Everything about one person sits under one partition: `LOGIN#<login_id>`. */
export const keys = {
  optin: (loginId: string) => ({ pk: `LOGIN#${loginId}`, sk: 'OPTIN' }),
  lock: (loginId: string) => ({ pk: `LOGIN#${loginId}`, sk: 'LOCK' }),
  suppression: (loginId: string) => ({ pk: `LOGIN#${loginId}`, sk: 'SUPPRESSION' }),
  /** Webhook events not handled yet, kept for a while under the person (PSID) or the Page. */
  event: (owner: { psid?: string; pageId?: string }, sortKey: string) => ({
    pk: owner.psid ? `PSID#${owner.psid}` : `PAGE#${owner.pageId ?? 'unknown'}`,
    sk: `EVENT#${sortKey}`,
  }),
  /** Queue messages the sender could not read: one partition, to list them all. */
  rejected: (sortKey: string) => ({ pk: 'QUEUE#REJECTED', sk: sortKey }),
};
