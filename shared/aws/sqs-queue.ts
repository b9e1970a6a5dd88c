import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { QueueJob } from '../messages';

/** SQS takes at most 10 messages and 256 KiB per batch; stay under with room for overhead. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 240 * 1024;
/** A single job larger than this has its payload replaced by a truncated copy. */
const MAX_JOB_BYTES = 200 * 1024;

export class EnqueueError extends Error {
  override name = 'EnqueueError';
}

/**
 * JSON with every non-ASCII character as a `\uXXXX` escape: the same value, but a body that any
 * SQS implementation accepts. (SQS refuses some characters outright, and emulators refuse more:
 * fauxqs rejects everything beyond U+FFFF, i.e. every emoji in a person's message.)
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Serialises a job, shrinking an oversized event payload instead of failing the whole webhook. */
export function serializeJob(job: QueueJob): string {
  const body = asciiJson(job);
  if (Buffer.byteLength(body) <= MAX_JOB_BYTES || job.kind !== 'event') return body;
  const text = JSON.stringify(job.payload).slice(0, MAX_JOB_BYTES / 2);
  return asciiJson({ ...job, payload: { truncated: true, text } });
}

/** Splits serialised bodies into SendMessageBatch-sized groups (count and bytes). */
export function batchBodies(bodies: string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (
      current.length === MAX_BATCH_ENTRIES ||
      (current.length > 0 && bytes + size > MAX_BATCH_BYTES)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Makes jobs durable in SQS: batches of 10, entries that fail retried with backoff. Throws
 * `EnqueueError` if any job could still not be stored, so the webhook answers 5xx and Facebook
 * delivers again (duplicates are harmless downstream).
 */
export async function enqueueJobs(
  sqs: SQSClient,
  queueUrl: string,
  jobs: QueueJob[],
  options: { attempts?: number; backoffMs?: number; delaySeconds?: number } = {},
): Promise<{ batches: number }> {
  const attempts = options.attempts ?? 4;
  const backoffMs = options.backoffMs ?? 50;
  const groups = batchBodies(jobs.map(serializeJob));
  await Promise.all(
    groups.map(async (group) => {
      let pending = group.map((body, index) => ({
        Id: String(index),
        MessageBody: body,
        ...(options.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
      }));
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        const result = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
        );
        const failedIds = new Set((result.Failed ?? []).map((f) => f.Id));
        if (failedIds.size === 0) return;
        if (attempt >= attempts) {
          const codes = (result.Failed ?? []).map((f) => f.Code).join(', ');
          throw new EnqueueError(
            `${failedIds.size} of ${group.length} jobs could not be enqueued (${codes})`,
          );
        }
        pending = pending.filter((entry) => failedIds.has(entry.Id));
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }),
  );
  return { batches: groups.length };
}

/** Hides a received message for `seconds`, so SQS redelivers it then: how retries are scheduled. */
export async function deferMessage(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandle: string,
  seconds: number,
): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: seconds,
    }),
  );
}
