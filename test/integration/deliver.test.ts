import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { sendApiClient } from '../../shared/graph/send-api';
import { type DeliverDeps, deliverFirstMessage } from '../../shared/login-connect/deliver';
import { parseFirstMessages } from '../../shared/login-connect/first-message';
import type { OptinJob } from '../../shared/messages';
import { parseAppSecrets } from '../../shared/secrets';
import { DynamoDbOptinStore } from '../../shared/store/dynamodb-optin-store';
import { keys } from '../../shared/store/table-definition';
import {
  HOUR_MS,
  OTHER_PAGE_ID,
  optinJob,
  PAGE_ID,
  PAGE_TOKEN,
  secretDocument,
} from '../helpers/factories';
import { GraphStub, graphError } from '../helpers/graph-stub';
import { freshTable, optinItem, partition } from '../helpers/tables';

const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const LEASE = 35_000;
const templates = parseFirstMessages({
  default: { message: { text: 'Welcome!' } },
  pages: {
    [OTHER_PAGE_ID]: {
      message: { text: 'Welcome from the other Page' },
      messagingType: 'RESPONSE',
    },
  },
});

const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let clock = T0;
let n = 0;

function deps(overrides: Partial<DeliverDeps> = {}): DeliverDeps {
  return {
    store: new DynamoDbOptinStore(ctx.doc, ctx.tableName, {
      optinDays: 30,
      lockDays: 365,
      suppressionDays: 730,
      eventDays: 7,
    }),
    secrets: async () => parseAppSecrets(secretDocument(), 'test'),
    firstMessages: templates,
    send: sendApiClient({ baseUrl: graph.url, version: 'v25.0', timeoutMs: 2000 }),
    retryPolicy: { baseSeconds: 30, maxSeconds: 900 },
    leaseMs: LEASE,
    unknownOutcome: 'retry',
    handOver: async () => {
      throw new Error('no hand-over expected in this test');
    },
    now: () => clock,
    random: () => 0.5,
    ...overrides,
  };
}

const job = (overrides: Partial<OptinJob> = {}): OptinJob => {
  n += 1;
  return optinJob({ loginId: `login-${n}`, optinAt: T0, receivedAt: T0, ...overrides });
};
const sendsTo = (loginId: string) =>
  graph.calls.filter((c) => (c.body.recipient as { login_id?: string })?.login_id === loginId);

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
});

describe('deliverFirstMessage()', () => {
  it('sends one untagged UPDATE to recipient.login_id with the Page token, and records it', async () => {
    const optin = job();

    const result = await deliverFirstMessage(optin, deps());

    expect(result).toMatchObject({ result: 'sent', latencyMs: 2000, record: 'recorded' });
    const [call] = sendsTo(optin.loginId);
    expect(call?.body).toEqual({
      recipient: { login_id: optin.loginId },
      messaging_type: 'UPDATE',
      message: { text: 'Welcome!' },
      access_token: PAGE_TOKEN,
    });
    expect(call?.body).not.toHaveProperty('tag');
    const item = await optinItem(ctx.doc, ctx.tableName, optin.loginId);
    expect(item).toMatchObject({
      status: 'sent',
      pageId: PAGE_ID,
      attempts: 1,
      messageId: expect.stringMatching(/^m_/),
    });
  });

  it('uses the Page override template', async () => {
    const optin = job({ pageId: OTHER_PAGE_ID });

    await deliverFirstMessage(optin, deps());

    expect(sendsTo(optin.loginId)[0]?.body).toMatchObject({
      messaging_type: 'RESPONSE',
      message: { text: 'Welcome from the other Page' },
    });
  });

  it('sends exactly once when the same opt-in is delivered 10 times at once', async () => {
    const optin = job();

    const results = await Promise.all(
      Array.from({ length: 10 }, () => deliverFirstMessage({ ...optin }, deps())),
    );

    expect(sendsTo(optin.loginId)).toHaveLength(1);
    expect(results.filter((r) => r.result === 'sent')).toHaveLength(1);
    expect(results.filter((r) => r.result === 'retry' || r.result === 'skipped')).toHaveLength(9);
    // The ones told to retry find the opt-in ended when they come back.
    clock += LEASE;
    const later = await Promise.all(
      Array.from({ length: 3 }, () => deliverFirstMessage({ ...optin }, deps())),
    );
    expect(later.every((r) => r.result === 'skipped')).toBe(true);
    expect(sendsTo(optin.loginId)).toHaveLength(1);
  });

  describe('the 24 h window', () => {
    it('sends just inside it', async () => {
      const optin = job();
      clock = T0 + 24 * HOUR_MS - 1;

      expect((await deliverFirstMessage(optin, deps())).result).toBe('sent');
    });

    it('sends nothing just outside it, and records expired', async () => {
      const optin = job();
      clock = T0 + 24 * HOUR_MS;

      const result = await deliverFirstMessage(optin, deps());

      expect(result).toEqual({
        result: 'ended',
        status: 'expired',
        reason: 'window_closed_before_first_attempt',
      });
      expect(sendsTo(optin.loginId)).toHaveLength(0);
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'expired',
        attempts: 0,
      });
    });

    it('sends nothing for a 25 h old opt-in even if an old pending record is still there (TTL is late)', async () => {
      const optin = job();
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            ...keys.optin(optin.loginId),
            type: 'optin',
            status: 'pending',
            pageId: PAGE_ID,
            windowEndsAt: new Date(T0 + 24 * HOUR_MS).toISOString(),
            expiresAt: 1,
          },
        }),
      );
      clock = T0 + 25 * HOUR_MS;

      expect((await deliverFirstMessage(optin, deps())).result).toBe('ended');
      expect(sendsTo(optin.loginId)).toHaveLength(0);
    });
  });

  describe('Send API errors', () => {
    it('retries a 500 with backoff and then sends once', async () => {
      const optin = job();
      graph.answer({ status: 500, body: graphError(2, undefined, 'unexpected') });

      const first = await deliverFirstMessage(optin, deps());
      expect(first).toMatchObject({
        result: 'retry',
        reason: 'transient_send_error',
        delaySeconds: 23,
        failure: { kind: 'transient', attempt: 1, code: 2 },
      });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'pending',
        lastError: { code: 2, httpStatus: 500 },
      });

      const early = await deliverFirstMessage(optin, deps());
      expect(early).toMatchObject({ result: 'retry', reason: 'busy' });

      clock += 23_000;
      const second = await deliverFirstMessage(optin, deps());
      expect(second.result).toBe('sent');
      expect(sendsTo(optin.loginId)).toHaveLength(2);
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status: 'sent',
        attempts: 2,
        errors: [{ code: 2, attempt: 1 }],
      });
    });

    it('backs off longer on each rate-limit error (613)', async () => {
      const optin = job();
      graph.answer({ status: 400, body: graphError(613) }, { status: 400, body: graphError(613) });

      const first = await deliverFirstMessage(optin, deps());
      clock += 60_000;
      const second = await deliverFirstMessage(optin, deps());

      expect(first).toMatchObject({ result: 'retry', delaySeconds: 23 });
      expect(second).toMatchObject({
        result: 'retry',
        delaySeconds: 45,
        failure: { attempt: 2, code: 613 },
      });
    });

    it('ends as opted_out on 551, suppresses the person, and never tries again', async () => {
      const optin = job();
      graph.answer({
        status: 400,
        body: graphError(551, undefined, "This person isn't available right now."),
      });

      const result = await deliverFirstMessage(optin, deps());
      clock += HOUR_MS;
      const again = await deliverFirstMessage(optin, deps());

      expect(result).toMatchObject({
        result: 'ended',
        status: 'opted_out',
        reason: 'send_api_not_receiving',
      });
      expect(again).toMatchObject({ result: 'skipped', status: 'opted_out' });
      expect(sendsTo(optin.loginId)).toHaveLength(1);
      expect((await partition(ctx.doc, ctx.tableName, optin.loginId)).SUPPRESSION).toMatchObject({
        code: 551,
      });
    });

    it.each([
      ['10/2018278', graphError(10, 2018278), 'expired', 'send_api_window_closed'],
      ['100', graphError(100, undefined, 'Invalid parameter'), 'failed', 'send_api_rejected'],
      ['200/1545041', graphError(200, 1545041), 'opted_out', 'send_api_not_receiving'],
    ])('ends %s as %s', async (_code, body, status, reason) => {
      const optin = job();
      graph.answer({ status: 400, body });

      expect(await deliverFirstMessage(optin, deps())).toMatchObject({
        result: 'ended',
        status,
        reason,
      });
      expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
        status,
        statusReason: reason,
      });
    });

    it('gives up as expired when transient errors last until the window closes', async () => {
      const optin = job();
      clock = T0 + 24 * HOUR_MS - 16_000;
      graph.answer({ status: 503, body: {} }, { status: 503, body: {} });

      const first = await deliverFirstMessage(optin, deps());
      clock = T0 + 24 * HOUR_MS - 15_000;
      const last = await deliverFirstMessage(optin, deps());

      expect(first).toMatchObject({ result: 'retry', delaySeconds: 1 });
      expect(last).toMatchObject({
        result: 'ended',
        status: 'expired',
        reason: 'window_closed_while_retrying',
      });
    });
  });

  it('fails an opt-in for a Page with no token in the secret, without calling Graph', async () => {
    const optin = job({ pageId: '9999999999' });

    expect(await deliverFirstMessage(optin, deps())).toEqual({
      result: 'ended',
      status: 'failed',
      reason: 'page_not_configured',
    });
    expect(sendsTo(optin.loginId)).toHaveLength(0);
  });

  it('sends nothing through a Page other than the locked one', async () => {
    const optin = job();
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...keys.lock(optin.loginId), type: 'lock', pageId: OTHER_PAGE_ID },
      }),
    );

    expect(await deliverFirstMessage(optin, deps())).toMatchObject({
      result: 'ended',
      status: 'page_locked',
      reason: `locked_to_page:${OTHER_PAGE_ID}`,
    });
    expect(sendsTo(optin.loginId)).toHaveLength(0);
  });

  it('sends nothing to a suppressed login_id', async () => {
    const optin = job();
    await ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: { ...keys.suppression(optin.loginId), type: 'suppression', reason: 'stop' },
      }),
    );

    expect(await deliverFirstMessage(optin, deps())).toMatchObject({
      result: 'ended',
      status: 'opted_out',
      reason: 'suppressed:stop',
    });
    expect(sendsTo(optin.loginId)).toHaveLength(0);
  });

  it('sends once after a worker died between claiming and sending', async () => {
    const optin = job();
    const dead = deps({ send: () => new Promise(() => undefined) });
    void deliverFirstMessage(optin, dead);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const during = await deliverFirstMessage(optin, deps());
    clock += LEASE + 30_000 + 1; // the lease and its hand-over grace
    const after = await deliverFirstMessage(optin, deps());

    expect(during).toMatchObject({ result: 'retry', reason: 'busy' });
    expect(after.result).toBe('sent');
    expect(sendsTo(optin.loginId)).toHaveLength(1);
    expect(await optinItem(ctx.doc, ctx.tableName, optin.loginId)).toMatchObject({
      status: 'sent',
      attempts: 2,
    });
  });
});
