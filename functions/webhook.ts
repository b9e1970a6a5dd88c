import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { sqsClient } from '../shared/aws/clients';
import { enqueueJobs } from '../shared/aws/sqs-queue';
import { ENV, requireEnv } from '../shared/env';
import { type ApiGatewayEvent, httpApiEventOf, text } from '../shared/http';
import { metricsRecorder as count, logger, metrics } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { verifySubscription } from '../shared/webhook/handshake';
import { receiveWebhook } from '../shared/webhook/receive';
import { headerValue, rawBodyOf, SIGNATURE_HEADER } from '../shared/webhook/signature';

const secrets = secretsSourceFromEnv(process.env);
const sqs = sqsClient();
const queueUrl = requireEnv(process.env, ENV.queueUrl);

/**
 * `GET /webhook`: the verification handshake. `POST /webhook`: signed deliveries, queued. Takes
 * the HTTP API's events and, with `apiFirewall`, the REST API's.
 */
export const handler = async (
  received: ApiGatewayEvent,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const event = httpApiEventOf(received);
  logger.addContext(context);
  logger.appendKeys({ requestId: event.requestContext?.requestId });
  try {
    const method = event.requestContext?.http?.method ?? 'GET';
    if (method === 'GET') return await handshake(event);
    if (method === 'POST') return await receive(event);
    return text(405, 'use GET or POST');
  } catch (error) {
    count.count('WebhookErrors');
    logger.error('webhook failed: answering 500 so Facebook delivers again', { error });
    return text(500, 'temporarily unavailable');
  } finally {
    metrics.publishStoredMetrics();
    logger.removeKeys(['requestId']);
  }
};

async function handshake(
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { verifyToken } = await secrets();
  const result = verifySubscription(event.queryStringParameters, verifyToken);
  count.count(result.ok ? 'WebhookVerified' : 'WebhookVerificationRefused');
  if (!result.ok) {
    logger.warn('verification handshake refused', { reason: result.reason });
    return text(
      result.statusCode,
      result.statusCode === 403 ? 'verify token does not match' : 'bad request',
    );
  }
  return text(200, result.challenge);
}

async function receive(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const receivedAt = Date.now();
  const { appSecret } = await secrets();
  if (appSecret === '') {
    // Not configured yet: refuse with a 5xx so Facebook keeps the deliveries and tries again.
    logger.error("appSecret is empty in the secret: put the Messenger app's App Secret there");
    count.count('WebhookErrors');
    return text(503, 'not configured');
  }
  const result = receiveWebhook(
    {
      rawBody: rawBodyOf(event.body, event.isBase64Encoded),
      signature: headerValue(event.headers, SIGNATURE_HEADER),
      receivedAt,
    },
    appSecret,
  );
  if (result.statusCode !== 200) {
    count.count(result.statusCode === 401 ? 'SignatureRejected' : 'WebhookBadRequest');
    logger.warn('webhook delivery refused', {
      statusCode: result.statusCode,
      reason: result.reason,
    });
    return text(result.statusCode, result.reason);
  }
  const optins = result.jobs.filter((job) => job.kind === 'optin').length;
  const rejected = result.jobs.filter((job) => job.kind === 'rejected_optin');
  const events = result.jobs.length - optins - rejected.length;
  if (result.jobs.some((job) => job.kind === 'event' && job.eventType === 'unreadable'))
    logger.error('a signed body could not be read: kept as its hash, size and start');
  const { batches } = await enqueueJobs(sqs, queueUrl, result.jobs);
  count.count('OptinsReceived', optins);
  count.count('OptinsRejected', rejected.length);
  count.count('EventsReceived', events);
  logger.info('webhook delivery queued', {
    optins,
    events,
    batches,
    latencyMs: Date.now() - receivedAt,
    ...(rejected.length > 0
      ? {
          rejectedOptins: rejected.length,
          // Reasons are written by our code (field and rule), never the values themselves.
          rejectionReasons: [...new Set(rejected.map((job) => job.reason))].slice(0, 10),
        }
      : {}),
  });
  return text(200, 'EVENT_RECEIVED');
}
