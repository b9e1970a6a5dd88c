import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { GraphUsage } from '../graph/ports';
import { nonEmptyString } from '../json';
import type {
  PageError,
  PageState,
  PausePlan,
  SubscriptionCheck,
} from '../login-connect/page-state';
import { PAGE_PAUSE_REASONS, type PagePauseReason } from '../login-connect/send-errors';
import { redactSecrets } from '../redact';
import { DAY_S, epochSeconds, isConditionFailed, iso } from './dynamo-helpers';
import type { PageStateStore } from './page-store';
import { keys, PAGES_KEY } from './table-definition';

/** A Page's state stays this long after its last change; the watchdog touches it every run. */
const PAGE_STATE_DAYS = 90;

type Item = Record<string, unknown>;

const ms = (value: unknown) => {
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
};
const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
const str = nonEmptyString;
const reasonOf = (value: unknown) =>
  (PAGE_PAUSE_REASONS as readonly unknown[]).includes(value)
    ? (value as PagePauseReason)
    : undefined;
const strings = (value: unknown) =>
  Array.isArray(value) || value instanceof Set
    ? [...value].filter((v): v is string => typeof v === 'string')
    : undefined;

function errorOf(value: unknown): Omit<PageError, 'at'> & { at?: number } {
  const e = (value ?? {}) as Item;
  return defined({
    code: num(e.code),
    subcode: num(e.subcode),
    httpStatus: num(e.httpStatus),
    message: typeof e.message === 'string' ? e.message : '',
    at: ms(e.at),
  }) as Omit<PageError, 'at'> & { at?: number };
}

/** An object without its undefined fields (what the optional fields of our types require). */
function defined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The stored item as the domain reads it. */
export function pageStateOf(item: Item): PageState {
  const subscription = item.subscription as Item | undefined;
  const lastError = item.lastError === undefined ? undefined : errorOf(item.lastError);
  return defined({
    pageId: String(item.pageId ?? String(item.sk ?? '').replace(/^PAGE#/, '')),
    pausedReason: reasonOf(item.pausedReason),
    pausedSince: ms(item.pausedSince),
    pausedUntil: ms(item.pausedUntil),
    pauseCount: num(item.pauseCount),
    tokenHash: str(item.tokenHash),
    probeOwner: str(item.probeOwner),
    probeUntil: ms(item.probeUntil),
    lastError:
      lastError === undefined ? undefined : ({ ...lastError, at: lastError.at ?? 0 } as PageError),
    usage: item.graphUsage as GraphUsage | undefined,
    resumedAt: ms(item.resumedAt),
    lastPausedReason: reasonOf(item.lastPausedReason),
    lastOptinAt: ms(item.lastOptinAt),
    lastSendAt: ms(item.lastSendAt),
    subscription:
      subscription === undefined
        ? undefined
        : (defined({
            checkedAt: ms(subscription.checkedAt) ?? 0,
            status: subscription.status as SubscriptionCheck['status'],
            fields: strings(subscription.fields),
            missingFields: strings(subscription.missingFields),
            error: subscription.error === undefined ? undefined : errorOf(subscription.error),
          }) as SubscriptionCheck),
    watchedAt: ms(item.watchedAt),
    updatedAt: ms(item.updatedAt),
  }) as PageState;
}

function errorItem(error: Omit<PageError, 'at'> & { at?: number }) {
  return defined({
    code: error.code,
    subcode: error.subcode,
    httpStatus: error.httpStatus,
    // Graph's messages can echo a token: redacted before anything is stored.
    message: redactSecrets(error.message).slice(0, 500),
    at: error.at === undefined ? undefined : iso(error.at),
  });
}

/**
 * Each Page's health in the single table: `PAGES` / `PAGE#<page_id>` (see the README's record
 * layout). Every write is a single conditional UpdateItem.
 */
export class DynamoDbPageStore implements PageStateStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(pageId: string): Promise<PageState | undefined> {
    // Eventually consistent, on purpose: half the price, and every decision that matters is a
    // conditional write (a probe) or has a back-off of its own.
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.pageState(pageId) }),
    );
    return Item === undefined ? undefined : pageStateOf(Item);
  }

  async list(): Promise<PageState[]> {
    const states: PageState[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': PAGES_KEY },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) states.push(pageStateOf(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return states;
  }

  private common(pageId: string, nowMs: number) {
    return {
      set: ['#type = :type', 'pageId = :pageId', 'updatedAt = :now', 'expiresAt = :expiresAt'],
      values: {
        ':type': 'page_state',
        ':pageId': pageId,
        ':now': iso(nowMs),
        ':expiresAt': epochSeconds(nowMs) + PAGE_STATE_DAYS * DAY_S,
      } as Record<string, unknown>,
    };
  }

  private async update(
    pageId: string,
    expression: string,
    values: Record<string, unknown>,
    condition?: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.pageState(pageId),
          UpdateExpression: expression,
          ...(condition ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async pause(pageId: string, plan: PausePlan, nowMs: number): Promise<boolean> {
    const { set, values } = this.common(pageId, nowMs);
    set.push(
      'pausedReason = :reason',
      'pausedSince = if_not_exists(pausedSince, :now)',
      'pausedUntil = :until',
      'pauseCount = :count',
      'lastError = :error',
      'lastPausedReason = :reason',
    );
    Object.assign(values, {
      ':reason': plan.reason,
      ':until': iso(plan.untilMs),
      ':count': plan.pauseCount,
      ':error': errorItem(plan.error),
    });
    const remove = ['probeOwner', 'probeUntil'];
    if (plan.tokenHash !== undefined) {
      set.push('tokenHash = :tokenHash');
      values[':tokenHash'] = plan.tokenHash;
    } else remove.push('tokenHash');
    if (plan.usage !== undefined) {
      // `usage` is a DynamoDB reserved word.
      set.push('graphUsage = :usage');
      values[':usage'] = plan.usage;
    } else remove.push('graphUsage');
    // A rate limit is the mildest reason: it never hides a restriction or an invalid token.
    const condition =
      plan.reason === 'rate_limited'
        ? 'attribute_not_exists(pausedReason) OR pausedReason = :reason'
        : undefined;
    return this.update(
      pageId,
      `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      values,
      condition,
    );
  }

  async takeProbe(pageId: string, owner: string, untilMs: number, nowMs: number) {
    const { set, values } = this.common(pageId, nowMs);
    set.push('probeOwner = :owner', 'probeUntil = :probeUntil');
    Object.assign(values, { ':owner': owner, ':probeUntil': iso(untilMs) });
    return this.update(
      pageId,
      `SET ${set.join(', ')}`,
      values,
      'attribute_exists(pausedReason) AND (attribute_not_exists(probeUntil) OR probeUntil < :now)',
    );
  }

  async releaseProbe(pageId: string, owner: string, nowMs: number): Promise<void> {
    const { set, values } = this.common(pageId, nowMs);
    values[':owner'] = owner;
    await this.update(
      pageId,
      `SET ${set.join(', ')} REMOVE probeOwner, probeUntil`,
      values,
      'probeOwner = :owner',
    );
  }

  async resume(pageId: string, owner: string, nowMs: number): Promise<boolean> {
    const { set, values } = this.common(pageId, nowMs);
    set.push('resumedAt = :now');
    values[':owner'] = owner;
    return this.update(
      pageId,
      `SET ${set.join(', ')} REMOVE pausedReason, pausedSince, pausedUntil, pauseCount, tokenHash, probeOwner, probeUntil, graphUsage`,
      values,
      'probeOwner = :owner',
    );
  }

  async recordWatch(
    pageId: string,
    seen: { lastOptinAt?: number; lastSendAt?: number; subscription?: SubscriptionCheck },
    nowMs: number,
  ): Promise<void> {
    const { set, values } = this.common(pageId, nowMs);
    set.push('watchedAt = :now');
    if (seen.lastOptinAt !== undefined) {
      set.push('lastOptinAt = :lastOptinAt');
      values[':lastOptinAt'] = iso(seen.lastOptinAt);
    }
    if (seen.lastSendAt !== undefined) {
      set.push('lastSendAt = :lastSendAt');
      values[':lastSendAt'] = iso(seen.lastSendAt);
    }
    if (seen.subscription !== undefined) {
      const s = seen.subscription;
      set.push('subscription = :subscription');
      values[':subscription'] = defined({
        checkedAt: iso(s.checkedAt),
        status: s.status,
        fields: s.fields,
        missingFields: s.missingFields,
        error: s.error === undefined ? undefined : errorItem(s.error),
      });
    }
    await this.update(pageId, `SET ${set.join(', ')}`, values);
  }
}
