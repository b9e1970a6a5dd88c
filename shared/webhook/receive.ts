import type { QueueJob } from '../messages';
import { extractJobs } from './extract';
import { isValidSignature } from './signature';

export type ReceiveResult =
  | { statusCode: 200; jobs: QueueJob[] }
  | { statusCode: 400 | 401; reason: string };

/**
 * Checks and reads one webhook delivery: the signature over the raw bytes first (nothing is
 * parsed before that), then JSON. The caller enqueues the jobs and answers.
 */
export function receiveWebhook(
  request: { rawBody: Buffer; signature: string | undefined; receivedAt: number },
  appSecret: string,
): ReceiveResult {
  if (request.signature === undefined)
    return { statusCode: 401, reason: 'missing X-Hub-Signature-256' };
  if (!isValidSignature(request.rawBody, request.signature, appSecret)) {
    return { statusCode: 401, reason: 'signature does not match' };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    return { statusCode: 400, reason: 'body is not JSON' };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { statusCode: 400, reason: 'body is not a JSON object' };
  }
  return {
    statusCode: 200,
    jobs: extractJobs(payload as Record<string, unknown>, request.receivedAt),
  };
}
