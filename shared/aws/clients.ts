import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Env } from '../env';

/** Wraps a new client, e.g. to trace its calls (`captureClient` in shared/tracing.ts). */
export type Capture = <T>(client: T) => T;
const asIs: Capture = (client) => client;

/**
 * SDK clients, created once per process. Endpoints come from the SDK's own variables
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`), which is how the local stack points the
 * same code at emulators.
 */
export function documentClient(capture: Capture = asIs): DynamoDBDocumentClient {
  // The document client shares the base client's middleware, so capturing the base traces both.
  return DynamoDBDocumentClient.from(capture(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function sqsClient(env: Env = process.env, capture: Capture = asIs): SQSClient {
  // Local emulators answer queue URLs on hosts that do not resolve; talk to the endpoint instead.
  const local = Boolean(env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL);
  return capture(new SQSClient(local ? { useQueueUrlAsEndpoint: false } : {}));
}
