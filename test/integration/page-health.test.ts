import { sendApiClient } from '../../shared/graph/send-api';
import { type DeliverDeps, deliverFirstMessage } from '../../shared/login-connect/deliver';
import { deliverFollowup, type FollowupDeps } from '../../shared/login-connect/deliver-followup';
import { parseFirstMessages } from '../../shared/login-connect/first-message';
import { PageHealth, wakePage } from '../../shared/login-connect/page-health';
import { tokenHash } from '../../shared/login-connect/page-state';
import type { OptinJob } from '../../shared/messages';
import { parseAppSecrets } from '../../shared/secrets';
import { DynamoDbMessageStore } from '../../shared/store/dynamodb-message-store';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { DynamoDbPageStore } from '../../shared/store/dynamodb-page-store';
import { DynamoDbPersonStore } from '../../shared/store/dynamodb-person-store';
import { HOUR_MS, optinJob, secretDocument } from '../helpers/factories';
import { GraphStub, graphError } from '../helpers/graph-stub';
import { freshTable, optinItem } from '../helpers/tables';

/**
 * deliverFirstMessage() with each Page's health, on DynamoDB Local and a scripted Graph: the
 * Page's own failures (10/1893063, 190, rate limits) pause the Page, its opt-ins wait `pending`
 * without attempts, one probe finds out when it can send again, and nothing is sent twice.
 */
const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
const BACKOFF = { backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 };
const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
const templates = parseFirstMessages({ default: { message: { text: 'Welcome!' } } });

const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let clock = T0;
let n = 0;
/** Each test has Pages of its own, so their states do not meet. */
let pageId = '';
let otherPageId = '';
let token = '';

function pageHealth(): PageHealth {
  return new PageHealth(new DynamoDbPageStore(ctx.doc, ctx.tableName), {
    ...BACKOFF,
    cacheMs: 0,
    probeLeaseMs: LEASE,
  });
}

function deps(overrides: Partial<DeliverDeps> = {}): DeliverDeps {
  return {
    store: new DynamoDbOptinStore(ctx.doc, ctx.tableName, RETENTION),
    secrets: async () =>
      parseAppSecrets(
        secretDocument({
          pages: {
            [pageId]: { accessToken: token },
            [otherPageId]: { accessToken: 'EAAB-other-token' },
          },
        }),
        'test',
      ),
    firstMessages: templates,
    send: sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 }),
    retryPolicy: { baseSeconds: 30, maxSeconds: 900 },
    leaseMs: LEASE,
    unknownOutcome: 'retry',
    handOver: async () => {
      throw new Error('no hand-over expected in this test');
    },
    now: () => clock,
    random: () => 0,
    ...overrides,
  };
}

const job = (overrides: Partial<OptinJob> = {}): OptinJob => {
  n += 1;
  return optinJob({ pageId, loginId: `ph-login-${n}`, optinAt: T0, receivedAt: T0, ...overrides });
};
const sendsTo = (loginId: string) =>
  graph.calls.filter((c) => (c.body.recipient as { login_id?: string })?.login_id === loginId);
const restricted = () => ({
  status: 400,
  body: graphError(10, 1893063, 'This Page is temporarily restricted from sending messages.'),
});
const pageState = () => new DynamoDbPageStore(ctx.doc, ctx.tableName).get(pageId);

beforeAll(async () => {
  ctx = await freshTable();
  await graph.start();
});
afterAll(async () => {
  ctx.raw.destroy();
  await graph.stop();
});
beforeEach(() => {
  clock = T0 + 2000;
  n += 1;
  pageId = `31${String(n).padStart(8, '0')}`;
  otherPageId = `32${String(n).padStart(8, '0')}`;
  token = `EAAB-token-${n}`;
});

describe('deliverFirstMessage() and the health of its Page', () => {
  it('retries a 190 instead of failing the opt-in, even without Page health', async () => {
    const optin = job();
    graph.answer({ status: 400, body: graphError(190, 460) });

    const result = await deliverFirstMessage(optin, deps());

    expect(result).toMatchObject({ result: 'retry', reason: 'token_invalid' });
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: { code: 190, kind: 'token_invalid' },
    });
  });

  it('pauses a restricted Page: its opt-ins wait pending without attempts, one probe resumes it, each is sent once', async () => {
    const pages = pageHealth();
    const first = job();
    const second = job();
    graph.answer(restricted());

    const refused = await deliverFirstMessage(first, deps({ pages }));
    const waiting = await deliverFirstMessage(second, deps({ pages }), { receiveCount: 1 });

    expect(refused).toMatchObject({
      result: 'retry',
      reason: 'page_restricted',
      delaySeconds: 60,
      page: { event: 'paused', reason: 'page_restricted', untilMs: clock + 60_000 },
    });
    expect(waiting).toMatchObject({
      result: 'retry',
      pagePaused: 'page_restricted',
      delaySeconds: 60,
    });
    expect(sendsTo(second.loginId)).toHaveLength(0);
    expect(await pageState()).toMatchObject({
      pausedReason: 'page_restricted',
      pausedSince: clock,
      pausedUntil: clock + 60_000,
      pauseCount: 1,
      lastError: { code: 10, subcode: 1893063 },
    });
    expect(await optinItem(ctx.doc, ctx.tableName, first.loginId)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: { kind: 'page_restricted', code: 10, subcode: 1893063 },
    });
    expect(await optinItem(ctx.doc, ctx.tableName, second.loginId)).toMatchObject({
      status: 'pending',
      attempts: 0,
      waitingFor: 'page_paused:page_restricted',
      sweepPk: 'PENDING',
    });

    // The back-off passed: the next job is the probe, and it goes through.
    clock += 61_000;
    const probe = await deliverFirstMessage(second, deps({ pages }));
    expect(probe).toMatchObject({
      result: 'sent',
      page: { event: 'resumed', reason: 'page_restricted' },
    });
    const resumed = await pageState();
    expect(resumed?.pausedReason).toBeUndefined();
    expect(resumed).toMatchObject({ resumedAt: clock, lastPausedReason: 'page_restricted' });

    // The opt-in that waited for its retry is woken and sent at once, once.
    const queued: OptinJob[] = [];
    const woken = await wakePage(pageId, {
      store: deps().store,
      enqueue: async (jobs) => queued.push(...jobs),
      now: () => clock,
    });
    expect(woken).toBe(1);
    expect(queued).toEqual([expect.objectContaining({ loginId: first.loginId, pageId })]);
    expect(await deliverFirstMessage(first, deps({ pages }))).toMatchObject({ result: 'sent' });
    expect(await deliverFirstMessage(first, deps({ pages }))).toMatchObject({
      result: 'skipped',
      status: 'sent',
    });
    expect(sendsTo(first.loginId)).toHaveLength(2);
    expect(sendsTo(second.loginId)).toHaveLength(1);
  });

  it('doubles the back-off when the probe finds the Page still restricted, and lets one probe through at a time', async () => {
    const pages = pageHealth();
    graph.answer(restricted(), restricted());
    await deliverFirstMessage(job(), deps({ pages }));
    clock += 61_000;

    const other = pageHealth();
    const secondProbe = await other.gate(pageId, token, clock);
    const again = await deliverFirstMessage(job(), deps({ pages }));

    expect(secondProbe).toMatchObject({ kind: 'probe' });
    expect(again).toMatchObject({ result: 'retry', pagePaused: 'page_restricted' });
    await other.release(pageId, secondProbe, clock);

    const probe = job();
    const refused = await deliverFirstMessage(probe, deps({ pages }));
    expect(refused).toMatchObject({
      result: 'retry',
      page: { event: 'paused', pauseCount: 2, untilMs: clock + 120_000 },
    });
    expect(await pageState()).toMatchObject({ pauseCount: 2, pausedSince: T0 + 2000 });
    expect(sendsTo(probe.loginId)).toHaveLength(1);
  });

  it('gives the probe right back when the claim fails, so the next job can probe at once', async () => {
    const pages = pageHealth();
    graph.answer(restricted());
    await deliverFirstMessage(job(), deps({ pages }));
    clock += 61_000;
    const store = new DynamoDbOptinStore(ctx.doc, ctx.tableName, RETENTION);
    const failing = Object.assign(Object.create(store) as DynamoDbOptinStore, {
      claim: async () => {
        throw new Error('DynamoDB unavailable');
      },
    });

    await expect(deliverFirstMessage(job(), deps({ pages, store: failing }))).rejects.toThrow(
      'DynamoDB unavailable',
    );

    expect(await pageHealth().gate(pageId, token, clock)).toMatchObject({ kind: 'probe' });
  });

  it('pauses a Page whose token Graph refuses (190), and resumes it once the secret holds another token', async () => {
    const pages = pageHealth();
    const optins = [job(), job(), job()];
    graph.answer({ status: 400, body: graphError(190, 460) });

    const results = [];
    for (const optin of optins) results.push(await deliverFirstMessage(optin, deps({ pages })));

    expect(results.map((r) => r.result)).toEqual(['retry', 'retry', 'retry']);
    expect(results[0]).toMatchObject({ page: { event: 'paused', reason: 'token_invalid' } });
    expect(await pageState()).toMatchObject({
      pausedReason: 'token_invalid',
      tokenHash: tokenHash(token),
    });
    expect(JSON.stringify(await pageState())).not.toContain(token);
    for (const optin of optins)
      expect((await optinItem(ctx.doc, ctx.tableName, optin.loginId))?.status).toBe('pending');
    expect(graph.calls.filter((c) => c.body.access_token === token)).toHaveLength(1);

    // Same token a minute later: still waiting (no probe before the back-off with that token).
    clock += 10_000;
    expect(await deliverFirstMessage(optins[1] as OptinJob, deps({ pages }))).toMatchObject({
      result: 'retry',
      pagePaused: 'token_invalid',
    });

    // The operator puts a new token in the secret: the next job probes with it at once.
    token = `${token}-new`;
    const probe = await deliverFirstMessage(optins[1] as OptinJob, deps({ pages }));
    expect(probe).toMatchObject({ result: 'sent', page: { event: 'resumed' } });
    const queued: OptinJob[] = [];
    await wakePage(pageId, {
      store: deps().store,
      enqueue: async (jobs) => queued.push(...jobs),
      now: () => clock,
    });
    expect(queued.map((q) => q.loginId).sort()).toEqual(
      [optins[0]?.loginId, optins[2]?.loginId].sort(),
    );
    for (const q of queued)
      expect(await deliverFirstMessage(q, deps({ pages }))).toMatchObject({ result: 'sent' });
    for (const optin of optins) {
      expect((await optinItem(ctx.doc, ctx.tableName, optin.loginId))?.status).toBe('sent');
      expect(sendsTo(optin.loginId).filter((c) => c.body.access_token !== token)).toHaveLength(
        optin === optins[0] ? 1 : 0,
      );
    }
  });

  it("backs a rate-limited Page off for Graph's estimated_time_to_regain_access, without touching another Page", async () => {
    const pages = pageHealth();
    const limited = job();
    graph.answer({
      status: 400,
      body: graphError(80001, undefined, 'There have been too many calls to this Page account.'),
      headers: {
        'x-business-use-case-usage': JSON.stringify({
          [pageId]: [
            {
              type: 'messenger',
              call_count: 100,
              total_cputime: 20,
              total_time: 30,
              estimated_time_to_regain_access: 7,
            },
          ],
        }),
      },
    });

    const result = await deliverFirstMessage(limited, deps({ pages }));
    const waiting = job();
    const deferred = await deliverFirstMessage(waiting, deps({ pages }));
    const elsewhere = await deliverFirstMessage(job({ pageId: otherPageId }), deps({ pages }));

    expect(result).toMatchObject({
      result: 'retry',
      reason: 'rate_limited',
      delaySeconds: 7 * 60,
      page: { event: 'paused', reason: 'rate_limited', untilMs: clock + 7 * 60_000 },
    });
    expect(deferred).toMatchObject({ result: 'retry', pagePaused: 'rate_limited' });
    if (deferred.result !== 'retry') throw new Error('unreachable');
    expect(deferred.delaySeconds).toBeGreaterThanOrEqual(7 * 60);
    // A short rate-limit pause writes nothing per waiting opt-in.
    expect(await optinItem(ctx.doc, ctx.tableName, waiting.loginId)).toBeUndefined();
    expect(elsewhere).toMatchObject({ result: 'sent' });
    expect(elsewhere.result === 'sent' ? elsewhere.page : 'x').toBeUndefined();
    expect(await pageState()).toMatchObject({
      pausedReason: 'rate_limited',
      usage: { business: { [pageId]: [{ regainAccessMinutes: 7 }] } },
    });
    expect(await new DynamoDbPageStore(ctx.doc, ctx.tableName).get(otherPageId)).toBeUndefined();
  });

  it('writes no Page state when a send goes through an open Page', async () => {
    const result = await deliverFirstMessage(job(), deps({ pages: pageHealth() }));

    expect(result).toMatchObject({ result: 'sent' });
    expect(result.result === 'sent' ? result.page : 'x').toBeUndefined();
    expect(await pageState()).toBeUndefined();
  });

  it('ends an opt-in whose window closed while its Page was paused as expired, never failed', async () => {
    const pages = pageHealth();
    graph.answer({ status: 400, body: graphError(190) });
    const optin = job();
    await deliverFirstMessage(optin, deps({ pages }));
    clock = T0 + 24 * HOUR_MS + 1000;

    const result = await deliverFirstMessage(optin, deps({ pages }));

    expect(result).toMatchObject({
      result: 'ended',
      status: 'expired',
      reason: 'window_closed_while_page_paused',
    });
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'expired',
    });
  });

  it('gives a follow-up of a paused Page its claim back without counting an attempt, and sends it by the probe', async () => {
    const pages = pageHealth();
    const people = new DynamoDbPersonStore(ctx.doc, ctx.tableName, RETENTION);
    const messages = new DynamoDbMessageStore(ctx.doc, ctx.tableName, RETENTION);
    const psid = `9${String(n).padStart(15, '0')}`;
    await people.recordUserMessage({ psid, pageId, atMs: clock - 60_000 }, clock - 60_000);
    const followupDeps = (): FollowupDeps => ({
      ...(deps({ pages }) as DeliverDeps),
      messages,
      people,
      followupOptions: { humanAgentEnabled: false },
    });
    const followup = async (id: string) => {
      await messages.create(
        { id, to: { psid }, pageId, messagingType: 'UPDATE', message: { text: 'Shipped.' } },
        clock,
      );
      return id;
    };
    const first = await followup(`msg_ph_${n}_a`);
    const second = await followup(`msg_ph_${n}_b`);
    graph.answer(restricted());

    const refused = await deliverFollowup({ v: 1, kind: 'followup', id: first }, followupDeps());
    const waiting = await deliverFollowup({ v: 1, kind: 'followup', id: second }, followupDeps(), {
      receiveCount: 1,
    });

    expect(refused).toMatchObject({
      result: 'retry',
      reason: 'page_restricted',
      page: { event: 'paused', reason: 'page_restricted' },
    });
    expect(waiting).toMatchObject({
      result: 'retry',
      pagePaused: 'page_restricted',
      delaySeconds: 60,
    });
    expect(await messages.get(first)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await messages.get(second)).toMatchObject({ status: 'queued', attempts: 0 });
    const toPsid = () =>
      graph.calls.filter((c) => (c.body.recipient as { id?: string })?.id === psid);
    expect(toPsid()).toHaveLength(1);

    clock += 61_000;
    const probe = await deliverFollowup({ v: 1, kind: 'followup', id: second }, followupDeps());
    expect(probe).toMatchObject({ result: 'sent', page: { event: 'resumed' } });
    expect(await messages.get(second)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(
      await deliverFollowup({ v: 1, kind: 'followup', id: first }, followupDeps()),
    ).toMatchObject({ result: 'sent' });
    expect(toPsid()).toHaveLength(3);
  });
});
