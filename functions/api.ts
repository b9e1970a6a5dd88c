import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { json } from '../shared/api/respond';
import { type ApiDeps, handleApiRequest } from '../shared/api/router';
import { documentClient, sqsClient } from '../shared/aws/clients';
import { enqueueJobs } from '../shared/aws/sqs-queue';
import { followupOptionsFromEnv, retentionFromEnv } from '../shared/config';
import { ENV, intFromEnv, requireEnv, stringFromEnv } from '../shared/env';
import { permissionsClient } from '../shared/graph/permissions';
import { type ApiGatewayEvent, httpApiEventOf } from '../shared/http';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbMessageStore } from '../shared/store/dynamodb-message-store';
import { inFlightSeconds } from '../shared/store/dynamodb-optin-store';
import { DynamoDbPersonStore } from '../shared/store/dynamodb-person-store';

const env = process.env;
const tableName = requireEnv(env, ENV.tableName);
const queueUrl = requireEnv(env, ENV.queueUrl);
const retention = retentionFromEnv(env);
const client = documentClient();
const sqs = sqsClient();

const deps: ApiDeps = {
  followupOptions: followupOptionsFromEnv(env),
  secrets: secretsSourceFromEnv(env),
  people: new DynamoDbPersonStore(client, tableName, retention),
  messages: new DynamoDbMessageStore(client, tableName, retention),
  permissions: permissionsClient({
    baseUrl: stringFromEnv(env, ENV.graphApiUrl, 'https://graph.facebook.com'),
    version: stringFromEnv(env, ENV.graphApiVersion, 'v25.0'),
    timeoutMs: intFromEnv(env, ENV.graphTimeoutSeconds, 10) * 1000,
  }),
  enqueue: (jobs, options) => enqueueJobs(sqs, queueUrl, jobs, options ?? {}),
  inFlightSeconds: inFlightSeconds(intFromEnv(env, ENV.sendLeaseSeconds, 35)),
  now: Date.now,
  log: logger,
};

/**
 * The API: login events, opt-outs, follow-up messages, and Facebook's data deletion callback.
 * Takes the HTTP API's events and, with `apiFirewall`, the REST API's.
 */
export const handler = async (
  received: ApiGatewayEvent,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const event = httpApiEventOf(received);
  logger.addContext(context);
  logger.appendKeys({ requestId: event.requestContext?.requestId, route: event.routeKey });
  try {
    const response = await handleApiRequest(event, deps);
    metricsRecorder.count('ApiRequests');
    metricsRecorder.count('ApiRequests', 1, { status: String(response.statusCode ?? 200) });
    return response;
  } catch (error) {
    logger.error('API request failed', { error });
    metricsRecorder.count('ApiErrors');
    return json(500, { error: 'internal_error', message: 'Something went wrong; try again.' });
  } finally {
    metrics.publishStoredMetrics();
    logger.removeKeys(['requestId', 'route']);
  }
};
