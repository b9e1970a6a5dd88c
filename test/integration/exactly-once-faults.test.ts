import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type FaultRule, WireProxy } from '../../infra/local/wire-proxy';
import { sendApiClient } from '../../shared/graph/send-api';
import { type DeliverDeps, deliverFirstMessage } from '../../shared/login-connect/deliver';
import { parseFirstMessages } from '../../shared/login-connect/first-message';
import type { UnknownOutcomePolicy } from '../../shared/login-connect/send-errors';
import type { OptinJob, SentJob } from '../../shared/messages';
import { parseAppSecrets } from '../../shared/secrets';
import { DynamoDbMessageStore } from '../../shared/store/dynamodb-message-store';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { keys } from '../../shared/store/table-definition';
import { optinJob, secretDocument } from '../helpers/factories';
import { GraphStub } from '../helpers/graph-stub';
import { freshTable, optinItem, partition } from '../helpers/tables';

/**
 * Exactly one Send API call per opt-in when DynamoDB fails on the wire: the real store and the
 * real Send API client, with a proxy between the store and DynamoDB Local that fails chosen
 * requests (as real DynamoDB does under contention, throttling and outages).
 */
const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
const RETENTION = { optinDays: 30, lockDays: 365, suppressionDays: 730, eventDays: 7 };
/** The record-the-send transaction is the one that sets `sentBy`. */
const RECORD = 'sentBy';

const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let proxy: WireProxy;
let faulty: DynamoDBDocumentClient;
let clock = T0;
let n = 0;
let handedOver: SentJob[] = [];

function deps(overrides: Partial<DeliverDeps> = {}): DeliverDeps {
  return {
    store: new DynamoDbOptinStore(faulty, ctx.tableName, RETENTION),
    secrets: async () => parseAppSecrets(secretDocument(), 'test'),
    firstMessages: parseFirstMessages({ default: { message: { text: 'Welcome!' } } }),
    send: sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 500 }),
    retryPolicy: { baseSeconds: 30, maxSeconds: 900 },
    leaseMs: LEASE,
    unknownOutcome: 'retry',
    handOver: async (job) => {
      handedOver.push(job);
    },
    // Waiting moves the clock on: the record's retries run against the lease, not the wall.
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => clock,
    random: () => 0.5,
    ...overrides,
  };
}

const job = (): OptinJob => {
  n += 1;
  return optinJob({ loginId: `faults-${n}`, optinAt: T0, receivedAt: T0 });
};
const sendsTo = (loginId: string) =>
  graph.calls.filter((c) => (c.body.recipient as { login_id?: string })?.login_id === loginId);
const fail = (loginId: string, rule: Omit<FaultRule, 'operation'>) =>
  proxy.setFaults([{ operation: 'TransactWriteItems', ...rule, contains: [loginId, RECORD] }]);

beforeAll(async () => {
  ctx = await freshTable();
  proxy = await WireProxy.start(process.env.AWS_ENDPOINT_URL_DYNAMODB as string, 'DynamoDB');
  // The SDK's own retries stay on (3 attempts), as in the Lambda.
  faulty = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: proxy.url }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  await graph.start();
});
afterAll(async () => {
  faulty.destroy();
  ctx.raw.destroy();
  await proxy.close();
  await graph.stop();
});
beforeEach(() => {
  clock = T0 + 2000;
  handedOver = [];
  proxy.setFaults([]);
});

describe('a send Graph accepted, when recording it fails', () => {
  it.each([
    ['cancelled by a TransactionConflict', { fault: 'conflict', times: 3 }],
    ['throttled past the SDK retries', { fault: 'throttle', times: 4 }],
    ['answered 500 past the SDK retries', { fault: 'internal', times: 6 }],
    ['cut off without an answer', { fault: 'reset', times: 4 }],
  ] as const)('is recorded after retries when %s, and never sent again', async (_, rule) => {
    // Arrange
    const optin = job();
    fail(optin.loginId, rule);

    // Act
    const first = await deliverFirstMessage(optin, deps());
    clock += LEASE * 3;
    const redelivered = await deliverFirstMessage(optin, deps());

    // Assert
    expect(proxy.faults()[0]?.hits).toBe(rule.times);
    expect(first).toMatchObject({ result: 'sent', record: 'recorded' });
    expect(first.result === 'sent' && first.recordTries).toBeGreaterThan(1);
    expect(redelivered).toMatchObject({ result: 'skipped', status: 'sent' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
    expect(handedOver).toEqual([]);
    const items = await partition(ctx.doc, ctx.tableName, optin.loginId);
    expect(items.OPTIN).toMatchObject({ status: 'sent', messageId: expect.any(String) });
    expect(items.LOCK).toBeDefined();
  });

  it('counts a write that happened but whose answer was lost as recorded, not as a second send', async () => {
    const optin = job();
    fail(optin.loginId, { fault: 'lost_answer', times: 1 });

    const first = await deliverFirstMessage(optin, deps());

    expect(proxy.faults()[0]?.hits).toBe(1);
    expect(first).toMatchObject({ result: 'sent', record: 'recorded' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'sent',
    });
  });

  it('is handed over through the queue when DynamoDB keeps refusing, and the hand-over records it', async () => {
    // Arrange: every record attempt fails until the lease is nearly over.
    const optin = job();
    fail(optin.loginId, { fault: 'conflict', times: 10_000 });

    // Act
    const first = await deliverFirstMessage(optin, deps());
    const whileHandedOver = await optinItem(ctx.doc, ctx.tableName, optin.loginId);
    proxy.setFaults([]);
    const [handover] = handedOver;
    if (handover === undefined) throw new Error('nothing was handed over');
    const recorded = await deps().store.recordHandedOver(
      {
        loginId: handover.id,
        pageId: handover.pageId,
        owner: handover.owner,
        sentAtMs: handover.sentAt,
        ...(handover.messageId ? { messageId: handover.messageId } : {}),
      },
      clock,
    );
    const again = await deps().store.recordHandedOver(
      {
        loginId: handover.id,
        pageId: handover.pageId,
        owner: handover.owner,
        sentAtMs: handover.sentAt,
        ...(handover.messageId ? { messageId: handover.messageId } : {}),
      },
      clock,
    );
    clock += LEASE * 3;
    const redelivered = await deliverFirstMessage(optin, deps());

    // Assert
    expect(first).toMatchObject({ result: 'sent', record: 'handed_over' });
    expect(clock - LEASE * 3).toBeLessThan(T0 + 2000 + LEASE); // handed over inside the lease
    expect(whileHandedOver).toMatchObject({ status: 'sending' });
    expect(handover).toMatchObject({ kind: 'sent', target: 'optin', id: optin.loginId });
    expect(recorded).toBe('recorded');
    expect(again).toBe('recorded');
    expect(redelivered).toMatchObject({ result: 'skipped', status: 'sent' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'sent',
      messageId: handover.messageId,
    });
  });

  it('never writes an old hand-over over a newer opt-in of the same login_id', async () => {
    const optin = job();
    await deliverFirstMessage(
      { ...optin, optinAt: T0 + 1000 },
      deps({
        send: async () => ({ ok: false, failure: { httpStatus: 500, code: 2, message: 'x' } }),
      }),
    );

    const outcome = await deps().store.recordHandedOver(
      {
        loginId: optin.loginId,
        pageId: optin.pageId,
        owner: 'an-old-attempt',
        sentAtMs: T0,
        messageId: 'm_old',
        optinAtMs: T0,
      },
      clock,
    );

    expect(outcome).toBe('gone');
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'pending',
    });
  });

  it('takes its own claim whose answer was lost for its own, and sends once', async () => {
    const optin = job();
    proxy.setFaults([
      {
        operation: 'TransactWriteItems',
        contains: [optin.loginId, 'attempts = if_not_exists'],
        fault: 'lost_answer',
        times: 1,
      },
    ]);

    const result = await deliverFirstMessage(optin, deps());

    expect(proxy.faults()[0]?.hits).toBe(1);
    expect(result).toMatchObject({ result: 'sent', record: 'recorded' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
  });

  it('never re-creates a record deleted before the hand-over came', async () => {
    const optin = job();
    fail(optin.loginId, { fault: 'conflict', times: 10_000 });
    await deliverFirstMessage(optin, deps());
    proxy.setFaults([]);
    await ctx.doc.send(
      new DeleteCommand({ TableName: ctx.tableName, Key: keys.optin(optin.loginId) }),
    );
    const [handover] = handedOver;
    if (handover === undefined) throw new Error('nothing was handed over');

    const outcome = await deps().store.recordHandedOver(
      { loginId: handover.id, pageId: handover.pageId, owner: handover.owner, sentAtMs: clock },
      clock,
    );

    expect(outcome).toBe('gone');
    expect(await partition(ctx.doc, ctx.tableName, optin.loginId)).toEqual({});
  });
});

describe('an attempt whose outcome is unknown', () => {
  /** A sender that claimed, maybe sent, and died before recording anything. */
  async function diedMidAttempt(policy: UnknownOutcomePolicy) {
    const optin = job();
    const store = deps().store;
    const claimed = await store.claim(
      {
        loginId: optin.loginId,
        pageId: optin.pageId,
        optinAtMs: optin.optinAt,
        receivedAtMs: optin.receivedAt,
        source: 'webhook',
      },
      clock,
      LEASE,
      { takeover: policy === 'retry' },
    );
    expect(claimed.outcome).toBe('claimed');
    clock += LEASE + 30_000 + 1000; // the lease and its hand-over grace
    return optin;
  }

  it('is never sent again with the hold setting: the opt-in ends as unknown', async () => {
    const optin = await diedMidAttempt('hold');

    const result = await deliverFirstMessage(optin, deps({ unknownOutcome: 'hold' }));
    const again = await deliverFirstMessage(optin, deps({ unknownOutcome: 'hold' }));

    expect(result).toMatchObject({ result: 'ended', status: 'unknown' });
    expect(result.result === 'ended' && result.unknownOutcome).toBe('lease_expired');
    expect(again).toMatchObject({ result: 'skipped', status: 'unknown' });
    expect(sendsTo(optin.loginId)).toHaveLength(0);
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'unknown',
      statusReason: 'previous_attempt_outcome_unknown',
    });
  });

  it('is sent again with the retry setting, and says so', async () => {
    const optin = await diedMidAttempt('retry');

    const result = await deliverFirstMessage(optin, deps({ unknownOutcome: 'retry' }));

    expect(result).toMatchObject({ result: 'sent', unknownOutcome: 'lease_expired' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
  });

  it('ends as unknown, not retried, when Graph does not answer and the setting is hold', async () => {
    const optin = job();
    graph.answer({ status: 200, body: {}, delayMs: 1500, forLoginId: optin.loginId });

    const result = await deliverFirstMessage(optin, deps({ unknownOutcome: 'hold' }));
    clock += LEASE * 3;
    const again = await deliverFirstMessage(optin, deps({ unknownOutcome: 'hold' }));

    expect(result).toMatchObject({
      result: 'ended',
      status: 'unknown',
      reason: 'send_api_no_answer',
      unknownOutcome: 'send_api_no_answer',
    });
    expect(again).toMatchObject({ result: 'skipped', status: 'unknown' });
    expect(sendsTo(optin.loginId)).toHaveLength(1);
  });

  it('is retried when Graph does not answer and the setting is retry', async () => {
    const optin = job();
    graph.answer({ status: 200, body: {}, delayMs: 1500, forLoginId: optin.loginId });

    const result = await deliverFirstMessage(optin, deps());

    expect(result).toMatchObject({ result: 'retry', unknownOutcome: 'send_api_no_answer' });
  });
});

describe('a follow-up Graph accepted, when recording it fails', () => {
  const messages = () => new DynamoDbMessageStore(faulty, ctx.tableName, RETENTION);
  async function claimedFollowup() {
    n += 1;
    const id = `followup-${n}`;
    await messages().create(
      {
        id,
        to: { psid: `psid-${n}` },
        pageId: 'page-1',
        messagingType: 'RESPONSE',
        message: { text: 'hello' },
      },
      clock,
    );
    const claimed = await messages().claim(id, clock, LEASE);
    if (claimed.outcome !== 'claimed') throw new Error('not claimed');
    return claimed.claim;
  }

  it('is recorded after a TransactionConflict, once', async () => {
    const claim = await claimedFollowup();
    proxy.setFaults([
      {
        operation: 'TransactWriteItems',
        contains: [claim.id, RECORD],
        fault: 'conflict',
        times: 2,
      },
    ]);
    const store = messages();

    const attempt = () => store.markSent(claim, { pageId: 'page-1', messageId: 'm_f' }, clock);
    await expect(attempt()).rejects.toThrow(/TransactionConflict/);
    await expect(attempt()).rejects.toThrow(/TransactionConflict/);
    const third = await attempt();
    const fourth = await attempt();

    expect([third, fourth]).toEqual(['recorded', 'recorded']);
    expect(await store.get(claim.id)).toMatchObject({ status: 'sent', messageId: 'm_f' });
  });

  it('never re-creates a follow-up deleted before its record', async () => {
    const claim = await claimedFollowup();
    await ctx.doc.send(
      new DeleteCommand({ TableName: ctx.tableName, Key: keys.outbound(claim.id) }),
    );

    const outcome = await messages().markSent(claim, { pageId: 'page-1', messageId: 'm_g' }, clock);

    expect(outcome).toBe('gone');
    expect(await messages().get(claim.id)).toBeUndefined();
  });
});
