import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Recipient, RecipientState } from '../login-connect/followup-policy';
import { TOMBSTONE_DAYS } from '../login-connect/tombstone';
import { FIRST_MESSAGE_WINDOW_MS } from '../login-connect/window';
import { batchGetAll } from './batch-get';
import { batchWriteAll } from './batch-write';
import { DAY_S, epochSeconds, isConditionFailed, iso } from './dynamo-helpers';
import type { Retention } from './optin-store';
import type {
  DeletionRecord,
  Erasure,
  Identity,
  PersonStore,
  ReceiptKind,
  SuppressionRequest,
  SuppressionSource,
} from './person-store';
import {
  firstMessageTrackingId,
  keys,
  type PersonId,
  parsePersonKey,
  personKey,
} from './table-definition';

/** Links are followed this far at most: a person has a handful of identifiers, not hundreds. */
const MAX_IDENTIFIERS = 64;

/** What kind of record an item is, for the deletion's counts (its `type`, else its sort key). */
function kindOfItem(item: Record<string, unknown>): string {
  if (typeof item.type === 'string') return item.type;
  return String(item.sk).split('#')[0]?.toLowerCase() || 'item';
}

/** A ref from a `MSG#` or `MID#` item to the item that tracks a sent message. */
interface Ref {
  pk: string;
  sk: string;
}

export class DynamoDbPersonStore implements PersonStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: Retention,
  ) {}

  async identity(person: PersonId): Promise<Identity> {
    const seen = new Map<string, PersonId>([[personKey(person), person]]);
    const queue: PersonId[] = [person];
    while (queue.length > 0 && seen.size < MAX_IDENTIFIERS) {
      const next = queue.shift() as PersonId;
      const { Items } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :link)',
          ExpressionAttributeValues: { ':pk': personKey(next), ':link': 'LINK#' },
          ProjectionExpression: 'sk',
        }),
      );
      for (const item of Items ?? []) {
        const linked = parsePersonKey(String(item.sk).slice('LINK#'.length));
        if (linked && !seen.has(personKey(linked))) {
          seen.set(personKey(linked), linked);
          queue.push(linked);
        }
      }
    }
    return { ids: [...seen.values()] };
  }

  async link(a: PersonId, b: PersonId, details: { pageId?: string }, nowMs: number): Promise<void> {
    const item = (from: PersonId, to: PersonId) => ({
      ...keys.link(from, to),
      type: 'link',
      [`${to.kind}Id`]: to.id,
      ...(details.pageId ? { pageId: details.pageId } : {}),
      linkedAt: iso(nowMs),
      expiresAt: epochSeconds(nowMs) + this.retention.lockDays * DAY_S,
    });
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: this.tableName, Item: item(a, b) } },
          { Put: { TableName: this.tableName, Item: item(b, a) } },
        ],
      }),
    );
  }

  async suppress(
    person: PersonId,
    request: SuppressionRequest,
    nowMs: number,
  ): Promise<PersonId[]> {
    const { ids } = await this.identity(person);
    const written: PersonId[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          await this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: {
                ...keys.suppression(id),
                type: 'suppression',
                [`${id.kind}Id`]: id.id,
                source: request.source,
                reason: request.reason,
                ...(request.code !== undefined ? { code: request.code } : {}),
                ...(request.subcode !== undefined ? { subcode: request.subcode } : {}),
                suppressedAt: iso(nowMs),
                expiresAt: epochSeconds(nowMs) + this.retention.suppressionDays * DAY_S,
              },
              // A STOP never replaces a stronger suppression; anything else may replace a STOP.
              ConditionExpression:
                request.source === 'stop'
                  ? 'attribute_not_exists(pk)'
                  : 'attribute_not_exists(pk) OR #source = :stop',
              ...(request.source === 'stop'
                ? {}
                : {
                    ExpressionAttributeNames: { '#source': 'source' },
                    ExpressionAttributeValues: { ':stop': 'stop' },
                  }),
            }),
          );
          written.push(id);
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
        }
      }),
    );
    return written;
  }

  async lift(person: PersonId, source: SuppressionSource, _nowMs: number): Promise<PersonId[]> {
    const { ids } = await this.identity(person);
    const lifted: PersonId[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          await this.client.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: keys.suppression(id),
              ConditionExpression: '#source = :source',
              ExpressionAttributeNames: { '#source': 'source' },
              ExpressionAttributeValues: { ':source': source },
            }),
          );
          lifted.push(id);
        } catch (error) {
          if (!isConditionFailed(error)) throw error;
        }
      }),
    );
    return lifted;
  }

  async suppressionOf(person: PersonId) {
    const { ids } = await this.identity(person);
    // Every key answered or a throw: a suppression DynamoDB did not return is not an absent one.
    const [found] = await batchGetAll(
      this.client,
      this.tableName,
      ids.map((id) => keys.suppression(id)),
      { consistentRead: true },
    );
    if (!found) return undefined;
    const id = parsePersonKey(String(found.pk)) as PersonId;
    return {
      id,
      source: found.source as SuppressionSource,
      reason: String(found.reason),
      ...(typeof found.code === 'number' ? { code: found.code } : {}),
      ...(typeof found.subcode === 'number' ? { subcode: found.subcode } : {}),
      at: String(found.suppressedAt),
    };
  }

  async recordUserMessage(
    message: { psid: string; pageId: string; atMs: number; priorLoginId?: string },
    nowMs: number,
  ): Promise<void> {
    const expiresAt = epochSeconds(nowMs) + this.retention.lockDays * DAY_S;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.profile(message.psid),
          UpdateExpression:
            'SET #type = :type, psid = :psid, pageId = if_not_exists(pageId, :pageId), lastUserMessageAt = :at, ' +
            'windowEndsAt = :windowEndsAt, updatedAt = :now, expiresAt = :expiresAt',
          // Messages can arrive out of order: only a later one moves the window.
          ConditionExpression: 'attribute_not_exists(lastUserMessageAt) OR lastUserMessageAt < :at',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'person',
            ':psid': message.psid,
            ':pageId': message.pageId,
            ':at': iso(message.atMs),
            ':windowEndsAt': iso(message.atMs + FIRST_MESSAGE_WINDOW_MS),
            ':now': iso(nowMs),
            ':expiresAt': expiresAt,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    if (message.priorLoginId === undefined) return;

    const loginId = message.priorLoginId;
    const psid: PersonId = { kind: 'psid', id: message.psid };
    await this.link({ kind: 'login', id: loginId }, psid, { pageId: message.pageId }, nowMs);
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.tableName,
              Key: keys.profile(message.psid),
              UpdateExpression: 'SET loginId = :loginId, linkedAt = if_not_exists(linkedAt, :now)',
              ExpressionAttributeValues: { ':loginId': loginId, ':now': iso(nowMs) },
            },
          },
          {
            // The first message, sent to the login_id, now has a PSID: its receipts can be matched.
            Put: {
              TableName: this.tableName,
              Item: {
                ...keys.sentMessage(psid, firstMessageTrackingId(loginId)),
                type: 'sent_message',
                ref: keys.optin(loginId),
                expiresAt,
              },
            },
          },
        ],
      }),
    );
    // A person suppressed under one identifier is suppressed under all of them.
    const suppression = await this.suppressionOf(psid);
    if (suppression) await this.suppress(psid, suppression, nowMs);
  }

  async recipientState(to: Recipient): Promise<RecipientState> {
    let psid = to.psid;
    const state: RecipientState = {};
    if (to.loginId !== undefined) {
      const login: PersonId = { kind: 'login', id: to.loginId };
      const [items, links] = await Promise.all([
        this.getMany([keys.optin(to.loginId), keys.lock(to.loginId), keys.suppression(login)]),
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :link)',
            ExpressionAttributeValues: { ':pk': personKey(login), ':link': 'LINK#PSID#' },
            ConsistentRead: true,
          }),
        ),
      ]);
      const [optin, lock, suppression] = items;
      if (optin) {
        state.firstMessage = {
          status: String(optin.status),
          pageId: String(optin.pageId),
          optinAtMs: Date.parse(String(optin.optinAt)),
        };
      }
      if (lock) state.lockedPageId = String(lock.pageId);
      if (suppression)
        state.suppressed = {
          source: String(suppression.source),
          reason: String(suppression.reason),
        };
      const linked = links.Items?.[0];
      if (linked) psid = String(linked.sk).slice('LINK#PSID#'.length);
    }
    if (psid !== undefined) {
      state.psid = psid;
      const [profile, suppression] = await this.getMany([
        keys.profile(psid),
        keys.suppression({ kind: 'psid', id: psid }),
      ]);
      if (profile) {
        state.profile = {
          pageId: String(profile.pageId),
          ...(typeof profile.lastUserMessageAt === 'string'
            ? { lastUserMessageAtMs: Date.parse(profile.lastUserMessageAt) }
            : {}),
        };
      }
      if (suppression && !state.suppressed)
        state.suppressed = {
          source: String(suppression.source),
          reason: String(suppression.reason),
        };
    }
    return state;
  }

  async erase(start: PersonId[]): Promise<Erasure> {
    const seen = new Map<string, PersonId>();
    const queue: PersonId[] = [];
    const meet = (person: PersonId | undefined) => {
      if (person === undefined || person.id === '' || seen.has(personKey(person))) return;
      if (seen.size >= MAX_IDENTIFIERS * 4) return;
      seen.set(personKey(person), person);
      queue.push(person);
    };
    for (const person of start) meet(person);
    const doomed = new Map<string, Ref & { kind: string }>();
    const add = (key: Ref, kind: string) =>
      doomed.set(`${key.pk}|${key.sk}`, { pk: key.pk, sk: key.sk, kind });
    const fetched = new Set<string>();
    // Breadth first over everything that names the person: each identifier's partition, the
    // identifiers its items name (links, the PSID Graph returned, a profile's login_id), and the
    // follow-up messages and `mid` pointers its items lead to.
    while (queue.length > 0) {
      const refs: Ref[] = [];
      for (const id of queue.splice(0)) {
        // A `login_id`'s rejected opt-ins sit under the hash of it (`keys.rejectedOptin`).
        if (id.kind === 'login') {
          const sha256 = createHash('sha256').update(id.id, 'utf8').digest('hex');
          for (const item of await this.partition(`REJECTED#LOGIN#${sha256}`))
            add({ pk: String(item.pk), sk: String(item.sk) }, kindOfItem(item));
        }
        for (const item of await this.partition(personKey(id))) {
          add({ pk: String(item.pk), sk: String(item.sk) }, kindOfItem(item));
          if (typeof item.messageId === 'string') add(keys.mid(item.messageId), 'mid');
          if (String(item.sk).startsWith('LINK#'))
            meet(parsePersonKey(String(item.sk).slice('LINK#'.length)));
          if (typeof item.recipientId === 'string') meet({ kind: 'psid', id: item.recipientId });
          if (typeof item.loginId === 'string') meet({ kind: 'login', id: item.loginId });
          const ref = item.ref as Ref | undefined;
          if (ref?.pk !== undefined) meet(parsePersonKey(ref.pk));
          if (ref?.pk?.startsWith('OUT#') && !fetched.has(ref.pk)) {
            fetched.add(ref.pk);
            refs.push({ pk: ref.pk, sk: ref.sk });
          }
        }
      }
      // Follow-up messages live outside the person's partitions; their pointers lead to them. A
      // message DynamoDB did not return would be left behind: the whole erasure fails instead.
      for (const item of await batchGetAll(this.client, this.tableName, refs, {
        consistentRead: true,
      })) {
        add({ pk: String(item.pk), sk: String(item.sk) }, 'message');
        if (typeof item.messageId === 'string') add(keys.mid(item.messageId), 'mid');
        if (typeof item.recipientId === 'string') meet({ kind: 'psid', id: item.recipientId });
        const to = (item.to ?? {}) as { loginId?: unknown; psid?: unknown };
        if (typeof to.loginId === 'string') meet({ kind: 'login', id: to.loginId });
        if (typeof to.psid === 'string') meet({ kind: 'psid', id: to.psid });
      }
    }
    const all = [...doomed.values()];
    await batchWriteAll(
      this.client,
      this.tableName,
      all.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })),
      'deletes',
    );
    const deleted: Record<string, number> = {};
    for (const { kind } of all) deleted[kind] = (deleted[kind] ?? 0) + 1;
    return { ids: [...seen.values()], deleted };
  }

  async bury(hashes: string[], nowMs: number): Promise<void> {
    const expiresAt = epochSeconds(nowMs) + TOMBSTONE_DAYS * DAY_S;
    const unique = [...new Set(hashes)];
    await batchWriteAll(
      this.client,
      this.tableName,
      unique.map((hash) => ({
        PutRequest: {
          Item: { ...keys.tombstone(hash), type: 'tombstone', deletedAt: iso(nowMs), expiresAt },
        },
      })),
      'tombstones',
    );
  }

  async deletedAt(hashes: string[]): Promise<number | undefined> {
    const found = await batchGetAll(
      this.client,
      this.tableName,
      [...new Set(hashes)].map((hash) => keys.tombstone(hash)),
      { consistentRead: true },
    );
    const times = found.map((item) => Date.parse(String(item.deletedAt))).filter(Number.isFinite);
    return times.length > 0 ? Math.max(...times) : undefined;
  }

  async recordDeletion(code: string, record: DeletionRecord, days: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.deletion(code),
          type: 'deletion',
          status: record.status,
          ...(record.reason ? { reason: record.reason } : {}),
          requestedAt: iso(record.requestedAt),
          completedAt: iso(record.completedAt),
          deleted: record.deleted,
          expiresAt: epochSeconds(record.requestedAt) + days * DAY_S,
        },
      }),
    );
  }

  async addToDeletion(code: string, deleted: Record<string, number>, nowMs: number) {
    const kinds = Object.entries(deleted).filter(([kind]) => /^[a-z_]+$/.test(kind));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.deletion(code),
          UpdateExpression: `SET completedAt = :now${kinds
            .map((_, i) => `, deleted.#k${i} = if_not_exists(deleted.#k${i}, :zero) + :n${i}`)
            .join('')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: Object.fromEntries(kinds.map(([kind], i) => [`#k${i}`, kind])),
          ExpressionAttributeValues: {
            ':now': iso(nowMs),
            ...(kinds.length > 0 ? { ':zero': 0 } : {}),
            ...Object.fromEntries(kinds.map(([, n], i) => [`:n${i}`, n])),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  async deletion(code: string): Promise<DeletionRecord | undefined> {
    const [item] = await this.getMany([keys.deletion(code)]);
    if (!item) return undefined;
    return {
      status: item.status as DeletionRecord['status'],
      ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
      requestedAt: Date.parse(String(item.requestedAt)),
      completedAt: Date.parse(String(item.completedAt)),
      deleted: (item.deleted ?? {}) as Record<string, number>,
    };
  }

  /** Every item of one partition, strongly consistent. */
  private async partition(pk: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Reads items by key, strongly consistent, in the order asked (undefined where missing). Throws
   * rather than answer undefined for an item DynamoDB left unprocessed.
   */
  private async getMany(
    keyList: Array<{ pk: string; sk: string }>,
  ): Promise<Array<Record<string, unknown> | undefined>> {
    const found = await batchGetAll(this.client, this.tableName, keyList, {
      consistentRead: true,
    });
    return keyList.map((key) => found.find((item) => item.pk === key.pk && item.sk === key.sk));
  }

  async applyReceipt(receipt: {
    psid?: string;
    kind: ReceiptKind;
    watermarkMs?: number;
    mids?: string[];
  }): Promise<number> {
    const byMid: Ref[] = [];
    if (receipt.mids && receipt.mids.length > 0) {
      const pointers = await batchGetAll(
        this.client,
        this.tableName,
        receipt.mids.map((mid) => keys.mid(mid)),
      );
      for (const item of pointers) if (item.ref) byMid.push(item.ref as Ref);
    }
    const byWatermark: Ref[] = [];
    if (receipt.psid && receipt.watermarkMs !== undefined && byMid.length === 0) {
      const { Items } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :msg)',
          ExpressionAttributeValues: {
            ':pk': personKey({ kind: 'psid', id: receipt.psid }),
            ':msg': 'MSG#',
          },
        }),
      );
      for (const item of Items ?? []) if (item.ref) byWatermark.push(item.ref as Ref);
    }
    const at = iso(receipt.watermarkMs ?? Date.now());
    const targets = [
      ...byMid.map((ref) => ({ ref, bounded: false })),
      ...byWatermark.map((ref) => ({ ref, bounded: true })),
    ];
    const results = await Promise.all(
      targets.map(({ ref, bounded }) => this.markReceipt(ref, receipt.kind, at, bounded)),
    );
    return results.filter(Boolean).length;
  }

  /**
   * Sets a receipt on the item tracking a sent message. Never backwards: `read` implies
   * `delivered`, and a late `delivered` leaves a `read` as it is. With `bounded`, only a message
   * sent at or before the watermark is touched.
   */
  private async markReceipt(
    ref: Ref,
    kind: ReceiptKind,
    at: string,
    bounded: boolean,
  ): Promise<boolean> {
    const update =
      kind === 'read'
        ? 'SET readAt = if_not_exists(readAt, :at), deliveredAt = if_not_exists(deliveredAt, :at), receipt = :read'
        : 'SET deliveredAt = if_not_exists(deliveredAt, :at), receipt = if_not_exists(receipt, :delivered)';
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: ref,
          UpdateExpression: update,
          ConditionExpression: bounded
            ? 'attribute_exists(sentAt) AND sentAt <= :at'
            : 'attribute_exists(sentAt)',
          ExpressionAttributeValues: {
            ':at': at,
            ...(kind === 'read' ? { ':read': 'read' } : { ':delivered': 'delivered' }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }
}
