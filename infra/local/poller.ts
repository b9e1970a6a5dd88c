/**
 * The sender's event source, locally: what Lambda's SQS event source mapping does in AWS. It
 * long-polls the queue, invokes the real sender handler with a batch, deletes the records that
 * succeeded, and leaves the reported failures for SQS to deliver again after their visibility
 * (which the handler may have changed). SQS itself moves a message to the DLQ after
 * maxReceiveCount receives. Runs as its own process, so it can crash like a Lambda instance.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

const env = process.env;
const queueUrl = env.QUEUE_URL ?? '';
const batchSize = Number(env.LCM_SENDER_BATCH_SIZE ?? 10);
const concurrency = Number(env.LCM_SENDER_CONCURRENCY ?? 2);
const timeoutMs = Number(env.LCM_SENDER_TIMEOUT_SECONDS ?? 30) * 1000;
const region = env.AWS_REGION ?? 'us-east-1';

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const { handler } = require('../../functions/sender') as typeof import('../../functions/sender');

let stopping = false;
const aborter = new AbortController();

function toRecord(message: Message): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? randomUUID(),
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${region}:000000000000:${queueUrl.split('/').pop()}`,
    awsRegion: region,
  };
}

async function pollLoop(): Promise<void> {
  while (!stopping) {
    let messages: Message[];
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: 2,
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: aborter.signal },
      );
      messages = received.Messages ?? [];
    } catch (error) {
      if (stopping) return;
      process.stderr.write(`poller: receive failed: ${(error as Error).message}\n`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    if (messages.length === 0) continue;
    const event: SQSEvent = { Records: messages.map(toRecord) };
    let failed: Set<string>;
    const started = performance.now();
    try {
      const result = await handler(event, lambdaContext('sender', timeoutMs));
      failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      // Like Lambda: an invocation that throws fails the whole batch.
      process.stderr.write(`poller: sender invocation failed: ${(error as Error).message}\n`);
      failed = new Set(event.Records.map((r) => r.messageId));
    }
    // The stack sums these for the benchmark (what Lambda would bill).
    if (process.connected) process.send?.({ invocationMs: performance.now() - started });
    const done = event.Records.filter((r) => !failed.has(r.messageId));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
  }
}

async function main(): Promise<void> {
  const loops = Array.from({ length: concurrency }, () => pollLoop());
  const stop = () => {
    stopping = true;
    aborter.abort();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.send?.({ ready: true });
  await Promise.all(loops);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`poller: ${(error as Error).stack}\n`);
  process.exit(1);
});
