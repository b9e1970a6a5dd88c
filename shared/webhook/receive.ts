import { createHash } from 'node:crypto';
import type { QueueJob } from '../messages';
import { toWellFormed } from '../text';
import { PAYLOAD_EXCERPT_CHARS } from './bounded';
import { extractJobs } from './extract';
import { isValidSignature } from './signature';

/**
 * The largest body the webhook takes: 4 MiB. API Gateway (HTTP API) takes up to 10 MB, but the
 * Lambda behind it takes an invoke payload of at most 6 MiB, the whole event included, in which
 * a body API Gateway treats as binary arrives base64-encoded (a third larger): 4 MiB is about the
 * largest body certain to reach the function. Facebook's deliveries (at most 1,000 updates) are
 * far smaller.
 */
export const MAX_WEBHOOK_BODY_BYTES = 4 * 1024 * 1024;

export type ReceiveResult =
  | { statusCode: 200; jobs: QueueJob[] }
  | { statusCode: 400 | 401 | 413; reason: string };

/**
 * Checks and reads one webhook delivery: its size, then the signature over the raw bytes
 * (nothing is parsed before that), then JSON. The caller enqueues the jobs and answers. Never
 * throws: a signed JSON object always yields jobs, so only enqueuing can fail.
 */
export function receiveWebhook(
  request: { rawBody: Buffer; signature: string | undefined; receivedAt: number },
  appSecret: string,
): ReceiveResult {
  if (request.rawBody.length > MAX_WEBHOOK_BODY_BYTES) {
    return { statusCode: 413, reason: `body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes` };
  }
  if (request.signature === undefined)
    return { statusCode: 401, reason: 'missing X-Hub-Signature-256' };
  if (!isValidSignature(request.rawBody, request.signature, appSecret)) {
    return { statusCode: 401, reason: 'signature does not match' };
  }
  let payload: unknown;
  try {
    // A UTF-8 byte order mark is not JSON, but RFC 8259 lets a parser ignore it: ignore it.
    const body = request.rawBody.toString('utf8');
    payload = JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body);
  } catch {
    return { statusCode: 400, reason: 'body is not JSON' };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { statusCode: 400, reason: 'body is not a JSON object' };
  }
  try {
    return {
      statusCode: 200,
      jobs: extractJobs(payload as Record<string, unknown>, request.receivedAt),
    };
  } catch {
    // Not expected (extractJobs is written not to throw). Should it, keep the body in bounded
    // form rather than answer 5xx: Facebook would deliver the same body again and again.
    return { statusCode: 200, jobs: [unreadableBodyJob(request.rawBody, request.receivedAt)] };
  }
}

/** A signed body the webhook could not read, kept as its hash, size and start. */
export function unreadableBodyJob(rawBody: Buffer, receivedAt: number): QueueJob {
  return {
    v: 1,
    kind: 'event',
    eventType: 'unreadable',
    channel: 'other',
    receivedAt,
    payload: {
      truncated: true,
      reason: 'unreadable',
      sha256: createHash('sha256').update(rawBody).digest('hex'),
      bytes: rawBody.length,
      excerpt: toWellFormed(rawBody.subarray(0, PAYLOAD_EXCERPT_CHARS).toString('utf8')),
    },
  };
}
