import type { PausePlan } from '../../shared/login-connect/page-state';
import { DynamoDbPageStore } from '../../shared/store/dynamodb-page-store';
import { keys } from '../../shared/store/table-definition';
import { freshTable } from '../helpers/tables';

const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let store: DynamoDbPageStore;
let n = 0;
let page = '';

const plan = (overrides: Partial<PausePlan> = {}): PausePlan => ({
  reason: 'page_restricted',
  untilMs: T0 + 60_000,
  pauseCount: 1,
  error: { code: 10, subcode: 1893063, httpStatus: 400, message: 'restricted', at: T0 },
  ...overrides,
});
const raw = async () =>
  (
    await ctx.doc.send(
      new (
        await import('@aws-sdk/lib-dynamodb')
      ).GetCommand({
        TableName: ctx.tableName,
        Key: keys.pageState(page),
      }),
    )
  ).Item;

beforeAll(async () => {
  ctx = await freshTable();
  store = new DynamoDbPageStore(ctx.doc, ctx.tableName);
});
afterAll(() => ctx.raw.destroy());
beforeEach(() => {
  n += 1;
  page = `5${String(n).padStart(9, '0')}`;
});

describe('DynamoDbPageStore', () => {
  it('keeps a pause under PAGES / PAGE#<id>, with times as ISO strings and a TTL', async () => {
    expect(await store.pause(page, plan(), T0)).toBe(true);

    expect(await raw()).toMatchObject({
      pk: 'PAGES',
      sk: `PAGE#${page}`,
      type: 'page_state',
      pageId: page,
      pausedReason: 'page_restricted',
      pausedSince: iso(T0),
      pausedUntil: iso(T0 + 60_000),
      pauseCount: 1,
      lastError: {
        code: 10,
        subcode: 1893063,
        httpStatus: 400,
        message: 'restricted',
        at: iso(T0),
      },
      lastPausedReason: 'page_restricted',
      expiresAt: Math.floor(T0 / 1000) + 90 * 86_400,
    });
    expect(await store.get(page)).toMatchObject({
      pageId: page,
      pausedReason: 'page_restricted',
      pausedSince: T0,
      pausedUntil: T0 + 60_000,
      lastError: { code: 10, subcode: 1893063, at: T0 },
    });
  });

  it('keeps the start of a pause when it is paused again, and redacts tokens in the error', async () => {
    await store.pause(page, plan(), T0);
    await store.pause(
      page,
      plan({
        pauseCount: 2,
        untilMs: T0 + 300_000,
        error: { code: 190, message: 'Malformed access token EAABsecret123456', at: T0 + 5 },
        reason: 'token_invalid',
        tokenHash: 'abcd',
      }),
      T0 + 100_000,
    );

    const state = await store.get(page);
    expect(state).toMatchObject({
      pausedReason: 'token_invalid',
      pausedSince: T0,
      pauseCount: 2,
      tokenHash: 'abcd',
    });
    expect(JSON.stringify(await raw())).not.toContain('EAABsecret');
  });

  it('never lets a rate limit hide a restriction or an invalid token', async () => {
    await store.pause(page, plan({ reason: 'token_invalid', tokenHash: 'h' }), T0);

    expect(await store.pause(page, plan({ reason: 'rate_limited' }), T0 + 1)).toBe(false);
    expect((await store.get(page))?.pausedReason).toBe('token_invalid');
    const other = `${page}9`;
    expect(await store.pause(other, plan({ reason: 'rate_limited' }), T0)).toBe(true);
    expect(await store.pause(other, plan({ reason: 'rate_limited', pauseCount: 2 }), T0)).toBe(
      true,
    );
    expect(await store.pause(other, plan({ reason: 'page_restricted' }), T0)).toBe(true);
  });

  it('gives the probe to one owner at a time, until it runs out', async () => {
    await store.pause(page, plan(), T0);

    expect(await store.takeProbe(page, 'a', T0 + 96_000, T0 + 61_000)).toBe(true);
    expect(await store.takeProbe(page, 'b', T0 + 97_000, T0 + 62_000)).toBe(false);
    expect(await store.takeProbe(page, 'b', T0 + 140_000, T0 + 100_000)).toBe(true);
    expect(await store.get(page)).toMatchObject({ probeOwner: 'b', probeUntil: T0 + 140_000 });
  });

  it('has no probe for a Page that is not paused', async () => {
    expect(await store.takeProbe(page, 'a', T0 + 35_000, T0)).toBe(false);
    expect(await store.get(page)).toBeUndefined();
  });

  it('resumes only for the probe that holds the right, and keeps what the watchdog saw', async () => {
    await store.recordWatch(page, { lastOptinAt: T0 - 5000 }, T0);
    await store.pause(
      page,
      plan({ reason: 'rate_limited', usage: { app: { callCount: 100 } } }),
      T0,
    );
    await store.takeProbe(page, 'a', T0 + 100_000, T0 + 70_000);

    expect(await store.resume(page, 'b', T0 + 71_000)).toBe(false);
    await store.releaseProbe(page, 'b', T0 + 71_000);
    expect((await store.get(page))?.probeOwner).toBe('a');
    expect(await store.resume(page, 'a', T0 + 72_000)).toBe(true);

    const state = await store.get(page);
    expect(state).toEqual({
      pageId: page,
      resumedAt: T0 + 72_000,
      lastPausedReason: 'rate_limited',
      lastError: expect.objectContaining({ code: 10 }),
      lastOptinAt: T0 - 5000,
      watchedAt: T0,
      updatedAt: T0 + 72_000,
    });
  });

  it("records the watchdog's findings and lists every Page with one query", async () => {
    await store.recordWatch(
      page,
      {
        lastOptinAt: T0 - 1000,
        lastSendAt: T0 - 500,
        subscription: {
          checkedAt: T0,
          status: 'missing',
          fields: ['messages'],
          missingFields: ['messaging_optins'],
          error: { code: 200, httpStatus: 403, message: '(#200) Permissions error' },
        },
      },
      T0,
    );

    expect((await store.list()).find((s) => s.pageId === page)).toEqual({
      pageId: page,
      lastOptinAt: T0 - 1000,
      lastSendAt: T0 - 500,
      subscription: {
        checkedAt: T0,
        status: 'missing',
        fields: ['messages'],
        missingFields: ['messaging_optins'],
        error: { code: 200, httpStatus: 403, message: '(#200) Permissions error' },
      },
      watchedAt: T0,
      updatedAt: T0,
    });
  });
});
