import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  acceptAllBatches,
  HOUR_MS,
  lambdaContext,
  optinItem,
  PAGE_ID,
  PAGE_TOKEN,
  signedPost,
  sqsRecord,
  webhookBody,
} from '../helpers/factories';
import { GraphStub, graphError } from '../helpers/graph-stub';
import { writeSecretsFile } from '../helpers/secrets-file';
import { freshTable, optinItem as storedOptin } from '../helpers/tables';

/**
 * The two Lambda handlers as AWS runs them, in one process: the webhook's queue messages are
 * handed to the sender as an SQS event. DynamoDB is DynamoDB Local; the Send API is a loopback
 * stub; only SQS is stubbed here (the local stack runs it on a real emulator).
 */
const sqsMock = mockClient(SQSClient);
const graph = new GraphStub();
let ctx: Awaited<ReturnType<typeof freshTable>>;
let webhook: (e: APIGatewayProxyEventV2, c: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let sender: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

/** The rejected opt-in items kept for a login_id string (under the SHA-256 of it). */
async function rejectedUnder(loginId: string) {
  const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
  const sha = createHash('sha256').update(loginId).digest('hex');
  const { Items } = await ctx.doc.send(
    new QueryCommand({
      TableName: ctx.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `REJECTED#LOGIN#${sha}` },
    }),
  );
  return Items ?? [];
}

beforeAll(async () => {
  ctx = await freshTable();
  await graph.start();
  Object.assign(process.env, {
    TABLE_NAME: ctx.tableName,
    QUEUE_URL: 'http://127.0.0.1:1/000000000000/jobs',
    LCM_SECRETS_FILE: writeSecretsFile(),
    GRAPH_API_URL: graph.url,
    GRAPH_API_VERSION: 'v25.0',
    FIRST_MESSAGES_JSON: JSON.stringify({
      default: { message: { text: 'Thanks for signing up!' } },
    }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Loaded after the environment is set: the handlers read their configuration at import, as in Lambda.
  ({ handler: webhook } =
    require('../../functions/webhook') as typeof import('../../functions/webhook'));
  ({ handler: sender } =
    require('../../functions/sender') as typeof import('../../functions/sender'));
});
afterAll(async () => {
  ctx.raw.destroy();
  await graph.stop();
});
beforeEach(() => {
  sqsMock.reset();
  acceptAllBatches(sqsMock);
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
});

/** POSTs a signed webhook and returns the SQS event the queue would hand the sender. */
async function deliverWebhook(body: unknown): Promise<SQSEvent> {
  const response = await webhook(signedPost(JSON.stringify(body)), lambdaContext('webhook'));
  expect(response.statusCode).toBe(200);
  const bodies = sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries?.map((e) => e.MessageBody ?? '') ?? []);
  sqsMock.resetHistory();
  return { Records: bodies.map((b) => sqsRecord(b)) };
}

describe('webhook → queue → sender', () => {
  it('turns a signed opt-in into exactly one Send API call, and the record reads sent with the message_id', async () => {
    const sqsEvent = await deliverWebhook(
      webhookBody([{ messaging: [optinItem({ loginId: 'done-when-1' })] }]),
    );

    const response = await sender(sqsEvent, lambdaContext('sender'));

    const calls = graph.calls.filter(
      (c) => (c.body.recipient as { login_id?: string }).login_id === 'done-when-1',
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({
      recipient: { login_id: 'done-when-1' },
      messaging_type: 'UPDATE',
      access_token: PAGE_TOKEN,
    });
    const record = await storedOptin(ctx.doc, ctx.tableName, 'done-when-1');
    expect(record).toMatchObject({
      status: 'sent',
      pageId: PAGE_ID,
      messageId: expect.stringMatching(/^m_\d+$/),
    });
  });

  it('sends once when Facebook delivers the same opt-in three times in one batch and once more later', async () => {
    const item = optinItem({ loginId: 'dup-1' });
    const first = await deliverWebhook(
      webhookBody([{ messaging: [item, item] }, { messaging: [item] }]),
    );
    const second = await deliverWebhook(webhookBody([{ messaging: [item] }]));

    const firstResponse = await sender(first, lambdaContext('sender'));
    await sender(second, lambdaContext('sender'));
    // Records told to come back later come back, as SQS would redeliver them, and find it done.
    const retried = first.Records.filter((r) =>
      firstResponse.batchItemFailures.some((f) => f.itemIdentifier === r.messageId),
    );
    const retriedResponse = await sender({ Records: retried }, lambdaContext('sender'));

    expect(retriedResponse).toEqual({ batchItemFailures: [] });

    expect(
      graph.calls.filter((c) => (c.body.recipient as { login_id?: string }).login_id === 'dup-1'),
    ).toHaveLength(1);
  });

  it('reports a transient failure as a batch item failure and hides the message for the backoff', async () => {
    graph.answer({
      status: 500,
      body: graphError(1200, undefined, 'Temporary send message failure'),
      forLoginId: 'retry-1',
    });
    const sqsEvent = await deliverWebhook(
      webhookBody([
        { messaging: [optinItem({ loginId: 'retry-1' }), optinItem({ loginId: 'ok-1' })] },
      ]),
    );

    const response = await sender(sqsEvent, lambdaContext('sender'));

    const failed = sqsEvent.Records[0];
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failed?.messageId }]);
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input;
    expect(visibility).toMatchObject({ ReceiptHandle: failed?.receiptHandle });
    expect(visibility?.VisibilityTimeout).toBeGreaterThanOrEqual(15);
    expect(visibility?.VisibilityTimeout).toBeLessThanOrEqual(30);
    expect(await storedOptin(ctx.doc, ctx.tableName, 'retry-1')).toMatchObject({
      status: 'pending',
      lastError: { code: 1200 },
    });
    expect(await storedOptin(ctx.doc, ctx.tableName, 'ok-1')).toMatchObject({ status: 'sent' });
  });

  it('records a 25 h old opt-in as rejected, with the reason, and sends nothing', async () => {
    const sqsEvent = await deliverWebhook(
      webhookBody([
        { messaging: [optinItem({ loginId: 'old-1', timestamp: Date.now() - 25 * HOUR_MS })] },
      ]),
    );

    expect(await sender(sqsEvent, lambdaContext('sender'))).toEqual({ batchItemFailures: [] });
    expect(await storedOptin(ctx.doc, ctx.tableName, 'old-1')).toBeUndefined();
    expect(await rejectedUnder('old-1')).toMatchObject([
      {
        type: 'rejected_optin',
        status: 'rejected',
        statusReason: 'timestamp: is older than the 24 h window (or is not in milliseconds)',
        loginId: 'old-1',
        pageId: PAGE_ID,
        listPk: expect.stringMatching(/^OPTINS#/),
      },
    ]);
    expect(
      graph.calls.some((c) => (c.body.recipient as { login_id?: string }).login_id === 'old-1'),
    ).toBe(false);
  });

  it('stores events whose payloads DynamoDB could not hold as received, without failing the batch', async () => {
    const raw = `{"object":"page","entry":[{"id":"${PAGE_ID}","time":${Date.now()},"messaging":[{"sender":{"id":"PSID-8"},"recipient":{"id":"${PAGE_ID}"},"timestamp":1e300,"odd":{"constructor":{"name":"Set"},"big":1e21,"inf":1e400,"tiny":1e-200,"":1,"deep":${'['.repeat(40)}${']'.repeat(40)}}}]}]}`;
    sqsMock.resetHistory();
    const response = await webhook(signedPost(raw), lambdaContext('webhook'));
    const sqsEvent = {
      Records: sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((c) => c.args[0].input.Entries ?? [])
        .map((e) => sqsRecord(e.MessageBody ?? '')),
    };

    expect(response.statusCode).toBe(200);
    expect(await sender(sqsEvent, lambdaContext('sender'))).toEqual({ batchItemFailures: [] });
    const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const kept = await ctx.doc.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PSID#PSID-8' },
      }),
    );
    expect(kept.Items).toMatchObject([
      { eventType: 'unknown', payload: { truncated: true, reason: 'reserved_key' } },
    ]);
  });

  it('keeps events it cannot act on yet and rejects unreadable messages, without failing the batch', async () => {
    const events = await deliverWebhook(
      webhookBody([
        {
          messaging: [
            {
              sender: { id: 'PSID-7' },
              recipient: { id: PAGE_ID },
              timestamp: Date.now(),
              reaction: { mid: 'm.7', action: 'react', reaction: 'love' },
            },
          ],
        },
      ]),
    );
    const junk = sqsRecord('{"v":99,"kind":"teleport"}');

    const response = await sender({ Records: [...events.Records, junk] }, lambdaContext('sender'));

    expect(response).toEqual({ batchItemFailures: [] });
    const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    const kept = await ctx.doc.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PSID#PSID-7' },
      }),
    );
    const rejected = await ctx.doc.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'QUEUE#REJECTED' },
      }),
    );
    expect(kept.Items).toMatchObject([{ type: 'event', eventType: 'reaction', handled: false }]);
    expect(rejected.Items).toMatchObject([{ type: 'rejected', messageId: junk.messageId }]);
  });
});
