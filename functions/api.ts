import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { json } from '../shared/api/respond';
import { type ApiDeps, handleApiRequest } from '../shared/api/router';
import { documentClient, sqsClient } from '../shared/aws/clients';
import { enqueueJobs } from '../shared/aws/sqs-queue';
import { loadApiConfig } from '../shared/config';
import { permissionsClient } from '../shared/graph/permissions';
import { type ApiGatewayEvent, httpApiEventOf } from '../shared/http';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbMessageStore } from '../shared/store/dynamodb-message-store';
import { inFlightSeconds } from '../shared/store/dynamodb-optin-store';
import { DynamoDbPersonStore } from '../shared/store/dynamodb-person-store';
import { captureClient, traced } from '../shared/tracing';

const config = loadApiConfig(process.env);
const client = documentClient(captureClient);
const sqs = sqsClient(process.env, captureClient);

const deps: ApiDeps = {
  followupOptions: config.followupOptions,
  secrets: secretsSourceFromEnv(process.env),
  people: new DynamoDbPersonStore(client, config.tableName, config.retention),
  messages: new DynamoDbMessageStore(client, config.tableName, config.retention),
  permissions: traced('Graph.permissions', permissionsClient(config.graph), (result) => ({
    graphOk: result.ok,
  })),
  enqueue: (jobs, options) => enqueueJobs(sqs, config.queueUrl, jobs, options ?? {}),
  inFlightSeconds: inFlightSeconds(config.leaseSeconds),
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
