/**
 * The sender's event source, locally: what Lambda's SQS event source mapping does in AWS. The
 * rules (pollers, scaling, batching window, partial batch responses) are in
 * `sqs-event-source.ts`; this process plugs in the queue and the sender's instances.
 *
 * - Each concurrent invocation runs in its own sender instance (`function-instance.cts`, a worker
 *   thread with its own copy of the handler's module state, as each Lambda instance has), one
 *   batch at a time. One instance starts with the process; more start when all are busy, as
 *   Lambda scales out; their start-up (a cold start) does not count against the timeout.
 * - An invocation gets LCM_SENDER_TIMEOUT_SECONDS. One that runs longer is timed out as Lambda
 *   does it: its instance is stopped mid-work and replaced, nothing of its batch is deleted, and
 *   its messages come back after their visibility timeout (or when the handler had set it).
 * - SQS itself moves a message to the DLQ after maxReceiveCount receives.
 *
 * Settings (the stack sets them from SENDER_*): LCM_SENDER_BATCH_SIZE, LCM_SENDER_CONCURRENCY
 * (the mapping's maxConcurrency), LCM_SENDER_BATCH_WINDOW_MS, LCM_SENDER_TIMEOUT_SECONDS; without
 * them, a deployment's defaults.
 *
 * Runs as its own process, so the whole sender can crash as Lambda instances can; the stack then
 * starts a new one.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DEFAULT_SETTINGS } from '../../shared/defaults';
import type { Invocation, InvocationResult } from './function-instance.cjs';
import { handlerModules, startFunctionInstance } from './handler-modules';
import { type InvocationOutcome, type SourceMessage, SqsEventSource } from './sqs-event-source';

const env = process.env;
const numberOr = (raw: string | undefined, fallback: number) =>
  raw === undefined || raw === '' ? fallback : Number(raw);
const queueUrl = env.QUEUE_URL ?? '';
const batchSize = numberOr(env.LCM_SENDER_BATCH_SIZE, DEFAULT_SETTINGS.senderBatchSize);
const maxConcurrency = Math.max(
  1,
  numberOr(env.LCM_SENDER_CONCURRENCY, DEFAULT_SETTINGS.senderMaxConcurrency),
);
const windowMs = numberOr(env.LCM_SENDER_BATCH_WINDOW_MS, 0);
const timeoutMs =
  numberOr(env.LCM_SENDER_TIMEOUT_SECONDS, DEFAULT_SETTINGS.senderTimeoutSeconds) * 1000;
const region = env.AWS_REGION ?? 'us-east-1';
/** The sender's module: set by the stack (a bundle with `LCM_HANDLERS=bundles`), else its source. */
const senderModule = env.LCM_SENDER_MODULE || handlerModules({ kind: 'sources' }).sender;

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const log = (line: string): void => {
  process.stderr.write(`poller: ${line}\n`);
};

/** The Lambda record of a received message, under the id the event source knows it by. */
function toRecord(message: Message & { messageId: string }): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.messageId,
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

type Outcome = InvocationResult | { crashed: string } | 'timeout';

/** A sender instance: a worker thread that runs one invocation at a time. */
class Instance {
  private readonly worker: Worker;
  private pending: ((outcome: Outcome) => void) | undefined;
  readonly ready: Promise<void>;
  /** The worker is gone (crashed, or stopped). */
  exited = false;

  constructor() {
    this.worker = startFunctionInstance(senderModule, 'sender');
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => {
        this.worker.on('message', (result: InvocationResult) => this.settle(result));
        resolve();
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    this.worker.on('error', (error) => this.settle({ crashed: error.message }));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.settle({ crashed: `exited with ${code}` });
    });
  }

  /** Runs the batch; resolves with its result, or `timeout` once `timeoutMs` has passed. */
  invoke(event: SQSEvent): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle('timeout'), timeoutMs);
      this.pending = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      this.worker.postMessage({ event, timeoutMs } satisfies Invocation);
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }

  private settle(outcome: Outcome): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(outcome);
  }
}

/**
 * The sender's instances, as Lambda keeps execution environments: an invocation takes a warm one,
 * or starts one (a cold start, not counted against the timeout) when all are busy. One that timed
 * out or crashed is stopped and never used again.
 */
class InstancePool {
  private readonly idle: Instance[] = [];
  private readonly all = new Set<Instance>();

  /** Starts one instance now; resolves when it is ready (rejects if it does not start). */
  async warm(): Promise<void> {
    this.release(await this.start());
  }

  async invoke(event: SQSEvent): Promise<InvocationOutcome> {
    let instance = this.idle.pop();
    // One that died while idle is dropped, as Lambda replaces a dead execution environment.
    while (instance?.exited) {
      this.all.delete(instance);
      instance = this.idle.pop();
    }
    if (!instance) {
      try {
        instance = await this.start();
      } catch (error) {
        return {
          kind: 'lost',
          reason: `a sender instance failed to start (${(error as Error).message})`,
        };
      }
    }
    const outcome = await instance.invoke(event);
    if (outcome === 'timeout' || 'crashed' in outcome) {
      // As Lambda does: the instance is gone; a new one starts when one is needed.
      this.all.delete(instance);
      void instance.stop();
      return {
        kind: 'lost',
        reason:
          outcome === 'timeout'
            ? `a sender invocation timed out after ${timeoutMs} ms`
            : `a sender instance crashed (${outcome.crashed})`,
      };
    }
    this.release(instance);
    if (!outcome.ok) return { kind: 'threw', message: outcome.message };
    const response = outcome.response as SQSBatchResponse;
    return {
      kind: 'returned',
      failedIds: response.batchItemFailures.map((f) => f.itemIdentifier),
    };
  }

  private async start(): Promise<Instance> {
    const instance = new Instance();
    this.all.add(instance);
    try {
      await instance.ready;
    } catch (error) {
      this.all.delete(instance);
      throw error;
    }
    return instance;
  }

  private release(instance: Instance): void {
    if (this.all.has(instance) && !this.idle.includes(instance)) this.idle.push(instance);
  }
}

async function main(): Promise<void> {
  const pool = new InstancePool();
  // One warm instance before the stack says it is ready; more start as the load needs them. Each
  // costs 1 to 3 s of CPU to start (the sources through tsx, the SDK, Powertools), which every
  // stack start of the end-to-end suite would pay for instances most tests never use.
  await pool.warm();
  const source = new SqsEventSource<Message & SourceMessage>(
    {
      receive: async (max, waitSeconds, signal) => {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: waitSeconds,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        return (received.Messages ?? []).map((m) => ({
          ...m,
          messageId: m.MessageId ?? randomUUID(),
          receiptHandle: m.ReceiptHandle ?? '',
        }));
      },
      delete: async (messages) => {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
          }),
        );
      },
    },
    { invoke: (messages) => pool.invoke({ Records: messages.map(toRecord) }) },
    { batchSize, maxBatchingWindowMs: windowMs, maxConcurrency },
    {
      log,
      // The stack sums these for the benchmark (what Lambda would bill).
      onInvocation: (ms) => {
        if (process.connected) process.send?.({ invocationMs: ms });
      },
    },
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Let the batches in flight finish, as a Lambda deployment would, but not for long.
    void source.stop(5000).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  source.start();
  process.send?.({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`poller: ${(error as Error).stack}\n`);
  process.exit(1);
});
