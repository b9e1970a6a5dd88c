/**
 * The sender's event source, locally: what Lambda's SQS event source mapping does in AWS.
 *
 * - Up to LCM_SENDER_CONCURRENCY invocations run at once (the mapping's `maxConcurrency`), each in
 *   its own sender instance (`function-instance.cts`, a worker thread with its own copy of the
 *   handler's module state, as each Lambda instance has), one batch at a time. Instances are
 *   started when all the others are busy, as Lambda scales out; their start-up (a cold start)
 *   does not count against the timeout.
 * - The queue is received from whenever an instance is free, so a slow batch holds only its own
 *   instance: the others keep taking batches.
 * - An invocation gets LCM_SENDER_TIMEOUT_SECONDS. One that runs longer is timed out as Lambda
 *   does it: its instance is stopped mid-work and replaced, nothing of its batch is deleted, and
 *   its messages come back after their visibility timeout (or when the handler had set it).
 * - After an invocation, the records that succeeded are deleted and the reported failures are
 *   left for SQS to deliver again; an invocation that throws or crashes fails its whole batch.
 *   SQS itself moves a message to the DLQ after maxReceiveCount receives.
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
import type { Invocation, InvocationResult } from './function-instance.cjs';
import { handlerModules, startFunctionInstance } from './handler-modules';

const env = process.env;
const queueUrl = env.QUEUE_URL ?? '';
const batchSize = Number(env.LCM_SENDER_BATCH_SIZE ?? 10);
const concurrency = Math.max(1, Number(env.LCM_SENDER_CONCURRENCY ?? 5));
const timeoutMs = Number(env.LCM_SENDER_TIMEOUT_SECONDS ?? 30) * 1000;
const region = env.AWS_REGION ?? 'us-east-1';
/** The sender's module: set by the stack (a bundle with `LCM_HANDLERS=bundles`), else its source. */
const senderModule = env.LCM_SENDER_MODULE || handlerModules({ kind: 'sources' }).sender;
/** Long-poll wait: short, so that a stop does not wait long. */
const WAIT_SECONDS = 1;

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const log = (line: string): void => {
  process.stderr.write(`poller: ${line}\n`);
};

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

type Outcome = InvocationResult | { crashed: string } | 'timeout';

/** A sender instance: a worker thread that runs one invocation at a time. */
class Instance {
  private readonly worker: Worker;
  private pending: ((outcome: Outcome) => void) | undefined;
  readonly ready: Promise<void>;

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
    this.worker.on('exit', (code) => this.settle({ crashed: `exited with ${code}` }));
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

let stopping = false;
const aborter = new AbortController();
/** Every instance, started or starting; at most `concurrency`. */
const instances = new Set<Instance>();
const idle: Instance[] = [];
const inFlight = new Set<Promise<void>>();
let wakeReceiver: (() => void) | undefined;

function release(instance: Instance): void {
  idle.push(instance);
  wakeReceiver?.();
}

/** Starts an instance (a cold start) and makes it available once its handler is loaded. */
function startInstance(): void {
  const instance = new Instance();
  instances.add(instance);
  instance.ready.then(
    () => release(instance),
    (error: unknown) => {
      instances.delete(instance);
      log(`a sender instance failed to start: ${(error as Error).message}`);
      wakeReceiver?.();
    },
  );
}

function retire(instance: Instance): void {
  instances.delete(instance);
  void instance.stop();
}

async function invoke(instance: Instance, messages: Message[]): Promise<void> {
  const event: SQSEvent = { Records: messages.map(toRecord) };
  const started = performance.now();
  const outcome = await instance.invoke(event);
  // The stack sums these for the benchmark (what Lambda would bill).
  if (process.connected) process.send?.({ invocationMs: performance.now() - started });
  if (outcome === 'timeout' || 'crashed' in outcome) {
    // As Lambda does: the instance is gone, nothing of the batch is deleted, and its messages
    // come back after their visibility timeout. A new instance starts when one is needed.
    log(
      outcome === 'timeout'
        ? `a sender invocation timed out after ${timeoutMs} ms; its ${messages.length} message(s) come back after their visibility timeout`
        : `a sender instance crashed (${outcome.crashed}); its ${messages.length} message(s) come back after their visibility timeout`,
    );
    retire(instance);
    wakeReceiver?.();
    return;
  }
  release(instance);
  let failed: Set<string>;
  if (outcome.ok) {
    const response = outcome.response as SQSBatchResponse;
    failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  } else {
    // As Lambda does: an invocation that throws fails the whole batch.
    log(`sender invocation failed: ${outcome.message}`);
    failed = new Set(event.Records.map((r) => r.messageId));
  }
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length === 0) return;
  try {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  } catch (error) {
    // The messages come back and the sender skips what already ended, as after a lost delete.
    log(`delete failed: ${(error as Error).message}`);
  }
}

/** Receives a batch whenever an instance is free, and hands it over without waiting for it. */
async function receiveLoop(): Promise<void> {
  while (!stopping) {
    const instance = idle.shift();
    if (!instance) {
      // Everything is busy: scale out if allowed, then wait for an instance to be free.
      if (instances.size < concurrency) startInstance();
      await new Promise<void>((resolve) => {
        wakeReceiver = resolve;
      });
      wakeReceiver = undefined;
      continue;
    }
    let messages: Message[];
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: WAIT_SECONDS,
          MessageSystemAttributeNames: ['All'],
        }),
        { abortSignal: aborter.signal },
      );
      messages = received.Messages ?? [];
    } catch (error) {
      idle.unshift(instance);
      if (stopping) return;
      log(`receive failed: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    if (messages.length === 0) {
      idle.unshift(instance);
      continue;
    }
    const running = invoke(instance, messages).catch((error: unknown) =>
      log(`invocation: ${(error as Error).message}`),
    );
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  }
}

async function main(): Promise<void> {
  // One warm instance before the stack says it is ready; more start as the load needs them.
  startInstance();
  await new Promise<void>((resolve) => {
    wakeReceiver = resolve;
  });
  wakeReceiver = undefined;
  if (idle.length === 0) throw new Error('the first sender instance did not start');
  const stop = () => {
    if (stopping) return;
    stopping = true;
    aborter.abort();
    wakeReceiver?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.send?.({ ready: true });
  await receiveLoop();
  // Let the batches in flight finish, as a Lambda deployment would, but not for long.
  await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, 5000))]);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`poller: ${(error as Error).stack}\n`);
  process.exit(1);
});
