import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { json } from '../shared/api/respond';
import { handleApiRequest } from '../shared/api/router';
import { documentClient } from '../shared/aws/clients';
import { retentionFromEnv } from '../shared/config';
import { ENV, requireEnv } from '../shared/env';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbPersonStore } from '../shared/store/dynamodb-person-store';

const env = process.env;
const deps = {
  secrets: secretsSourceFromEnv(env),
  people: new DynamoDbPersonStore(
    documentClient(),
    requireEnv(env, ENV.tableName),
    retentionFromEnv(env),
  ),
  now: Date.now,
  log: logger,
};

/** The business's API: opt-outs (and later logins and follow-up messages), behind bearer keys. */
export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  logger.addContext(context);
  logger.appendKeys({ requestId: event.requestContext?.requestId, route: event.routeKey });
  try {
    const response = await handleApiRequest(event, deps);
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
