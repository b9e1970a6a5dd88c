import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import type { Context } from '../../context';
import { withAws } from '../../target';

/**
 * The SQS calls `lcm redrive` makes, each explained in operators' words when it fails (which
 * permission, which queue).
 */

/**
 * How long received DLQ messages stay hidden while they are being moved (or looked at): long
 * enough for a send and a delete, short enough that one left behind by a failure soon shows again.
 */
const HOLD_SECONDS = 120;
/** A short long-poll: it asks every SQS server, so an empty answer means the queue is empty. */
const WAIT_SECONDS = 1;
export const SQS_BATCH = 10;

export interface Queues {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

const call = (ctx: Context, action: string, queueUrl: string) => ({
  actions: [`sqs:${action}`],
  resource: `queue ${queueUrl}`,
  target: ctx.target,
});

/** SQS's approximate count of messages in the queue (visible + in flight). */
export async function approximateCount(ctx: Context, queueUrl: string): Promise<number | null> {
  const { Attributes } = await withAws(call(ctx, 'GetQueueAttributes', queueUrl), () =>
    ctx.sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ),
  );
  const visible = Number(Attributes?.ApproximateNumberOfMessages);
  const inFlight = Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
  if (!Number.isFinite(visible)) return null;
  return visible + (Number.isFinite(inFlight) ? inFlight : 0);
}

/** Up to `max` (at most a batch) messages, hidden from others for `HOLD_SECONDS`. */
export async function receive(ctx: Context, queueUrl: string, max: number): Promise<Message[]> {
  const { Messages } = await withAws(call(ctx, 'ReceiveMessage', queueUrl), () =>
    ctx.sqs().send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH, max),
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: WAIT_SECONDS,
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        MessageAttributeNames: ['All'],
      }),
    ),
  );
  return Messages ?? [];
}

/** Makes held messages visible again at once, a batch at a time. */
export async function release(ctx: Context, queueUrl: string, handles: string[]): Promise<void> {
  const entries = handles.map((handle, i) => ({
    Id: String(i),
    ReceiptHandle: handle,
    VisibilityTimeout: 0,
  }));
  for (let i = 0; i < entries.length; i += SQS_BATCH) {
    await withAws(call(ctx, 'ChangeMessageVisibility', queueUrl), () =>
      ctx.sqs().send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.slice(i, i + SQS_BATCH),
        }),
      ),
    );
  }
}

/** Deletes received messages (one batch); the answer's `Failed` ids index `messages`. */
export async function remove(ctx: Context, queueUrl: string, messages: Message[]) {
  return withAws(call(ctx, 'DeleteMessage', queueUrl), () =>
    ctx.sqs().send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, i) => ({
          Id: String(i),
          ReceiptHandle: message.ReceiptHandle as string,
        })),
      }),
    ),
  );
}

/** Sends copies of received messages (one batch), attributes kept; ids index `messages`. */
export async function sendCopies(
  ctx: Context,
  queueUrl: string,
  messages: Message[],
): Promise<SendMessageBatchCommandOutput> {
  const entries = messages.map((message, i) => ({
    Id: String(i),
    MessageBody: message.Body ?? '',
    ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0
      ? { MessageAttributes: message.MessageAttributes }
      : {}),
  }));
  return withAws(call(ctx, 'SendMessage', queueUrl), () =>
    ctx.sqs().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
  );
}
