import { sendApiClient } from '../../shared/graph/send-api';
import { deliverFirstMessage } from '../../shared/login-connect/deliver';
import { parseFirstMessages } from '../../shared/login-connect/first-message';
import { sweep } from '../../shared/login-connect/sweep';
import type { OptinJob } from '../../shared/messages';
import { parseAppSecrets } from '../../shared/secrets';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { HOUR_MS, optinJob, secretDocument, uniqueId } from '../helpers/factories';
import { GraphStub } from '../helpers/graph-stub';
import { freshTable, optinItem } from '../helpers/tables';

const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
const GRACE = 240_000;
const OPTIONS = { graceMs: GRACE, recheckMs: GRACE, limit: 100 };

const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let store: DynamoDbOptinStore;
let enqueued: OptinJob[];
let clock: number;

const deps = () => ({
  store,
  enqueue: async (jobs: OptinJob[]) => enqueued.push(...jobs),
  now: () => clock,
});
const deliverDeps = () => ({
  store,
  secrets: async () => parseAppSecrets(secretDocument(), 'test'),
  firstMessages: parseFirstMessages({ default: { message: { text: 'Welcome!' } } }),
  send: sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 }),
  retryPolicy: { baseSeconds: 30, maxSeconds: 900 },
  leaseMs: LEASE,
  unknownOutcome: 'retry' as const,
  handOver: async () => {
    throw new Error('no hand-over expected in this test');
  },
  now: () => clock,
});
const sendsTo = (loginId: string) =>
  graph.calls.filter((c) => (c.body.recipient as { login_id?: string }).login_id === loginId);

/** An opt-in claimed by a worker that then died, and whose queue message is gone. */
async function abandonedOptin(optinAtMs: number, claimedAtMs: number): Promise<OptinJob> {
  const job = optinJob({ loginId: uniqueId('L'), optinAt: optinAtMs, receivedAt: optinAtMs });
  await store.claim(
    {
      loginId: job.loginId,
      pageId: job.pageId,
      optinAtMs,
      receivedAtMs: optinAtMs,
      source: 'webhook',
    },
    claimedAtMs,
    LEASE,
  );
  return job;
}

beforeAll(async () => {
  ctx = await freshTable();
  store = new DynamoDbOptinStore(ctx.doc, ctx.tableName, {
    optinDays: 30,
    lockDays: 365,
    suppressionDays: 730,
    eventDays: 7,
  });
  await graph.start();
});
afterAll(async () => {
  ctx.raw.destroy();
  await graph.stop();
});
beforeEach(() => {
  enqueued = [];
});

describe('sweep()', () => {
  it('enqueues a lost opt-in again once its lease and the grace have passed, and only once', async () => {
    const job = await abandonedOptin(T0, T0);

    clock = T0 + LEASE + GRACE - 1000;
    const early = await sweep(deps(), OPTIONS);
    clock = T0 + LEASE + GRACE + 1000;
    const due = await sweep(deps(), OPTIONS);
    const again = await sweep(deps(), OPTIONS);

    expect(early.requeued).toBe(0);
    expect(due).toMatchObject({ requeued: 1 });
    expect(again.requeued).toBe(0);
    expect(enqueued).toEqual([{ ...job, source: 'webhook' }]);
  });

  it('gets the lost opt-in sent once, even if the lost queue message turns up after all', async () => {
    const job = await abandonedOptin(T0, T0);
    clock = T0 + LEASE + GRACE + 1000;
    await sweep(deps(), OPTIONS);

    const requeued = await deliverFirstMessage(enqueued[0] as OptinJob, deliverDeps());
    const original = await deliverFirstMessage(job, deliverDeps());

    expect(requeued.result).toBe('sent');
    expect(original.result).toBe('skipped');
    expect(sendsTo(job.loginId)).toHaveLength(1);
    expect(await sweep(deps(), OPTIONS)).toMatchObject({ checked: 0 });
  });

  it('ends an opt-in whose window passed while nothing worked on it as expired', async () => {
    const job = await abandonedOptin(T0 - 24 * HOUR_MS + 60_000, T0);
    clock = T0 + LEASE + GRACE + 1000;

    const result = await sweep(deps(), OPTIONS);

    // Under retry (the default) a dead attempt still counts as an unknown outcome.
    expect(result).toMatchObject({ expired: 1, requeued: 0, unknown: 1 });
    expect(await optinItem(ctx.doc, ctx.tableName, job.loginId)).toMatchObject({
      status: 'expired',
      statusReason: 'window_closed_unattended',
    });
    expect(await optinItem(ctx.doc, ctx.tableName, job.loginId)).not.toHaveProperty('sweepPk');
  });

  it('counts a dead attempt whose window passed as an unknown outcome, and ends it unknown under hold', async () => {
    const held = await abandonedOptin(T0 - 24 * HOUR_MS + 60_000, T0);
    clock = T0 + LEASE + GRACE + 1000;

    const result = await sweep({ ...deps(), unknownOutcome: 'hold' }, OPTIONS);

    expect(result).toMatchObject({ unknown: 1, expired: 0 });
    expect(await optinItem(ctx.doc, ctx.tableName, held.loginId)).toMatchObject({
      status: 'unknown',
      statusReason: 'previous_attempt_outcome_unknown',
    });
  });

  it('leaves sent opt-ins out of the index', async () => {
    const job = optinJob({ loginId: uniqueId('L'), optinAt: T0, receivedAt: T0 });
    clock = T0 + 1000;
    await deliverFirstMessage(job, deliverDeps());

    clock = T0 + 10 * HOUR_MS;
    await sweep(deps(), OPTIONS);

    expect(enqueued.some((j) => j.loginId === job.loginId)).toBe(false);
    expect(await optinItem(ctx.doc, ctx.tableName, job.loginId)).not.toHaveProperty('sweepAt');
  });
});
