import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { documentClient, sqsClient } from '../shared/aws/clients';
import { deferMessage, enqueueJobs } from '../shared/aws/sqs-queue';
import { loadSenderConfig } from '../shared/config';
import { sendApiClient } from '../shared/graph/send-api';
import { PageHealth } from '../shared/login-connect/page-health';
import { type ProcessDeps, processQueueRecord } from '../shared/login-connect/process-record';
import { classifySendFailure } from '../shared/login-connect/send-errors';
import { logger, loginIdTag, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbMessageStore } from '../shared/store/dynamodb-message-store';
import { DynamoDbOptinStore } from '../shared/store/dynamodb-optin-store';
import { DynamoDbPageStore } from '../shared/store/dynamodb-page-store';
import { DynamoDbPersonStore } from '../shared/store/dynamodb-person-store';
import { captureClient, traced } from '../shared/tracing';

// Written out in full on purpose: esbuild replaces exactly this expression with the templates
// validated at synth time. Locally and in tests it is an ordinary environment variable.
const config = loadSenderConfig(process.env, process.env.FIRST_MESSAGES_JSON);
const sqs = sqsClient(process.env, captureClient);

const doc = documentClient(captureClient);
/** When the current invocation ends (Lambda kills it then): the record's last chance. */
let invocationEndsAtMs = Number.POSITIVE_INFINITY;
const deps: ProcessDeps = {
  store: new DynamoDbOptinStore(doc, config.tableName, config.retention),
  people: new DynamoDbPersonStore(doc, config.tableName, config.retention),
  messages: new DynamoDbMessageStore(doc, config.tableName, config.retention),
  secrets: secretsSourceFromEnv(process.env),
  firstMessages: config.firstMessages,
  // Annotated with the answer's status, never its content.
  send: traced('Graph.send', sendApiClient(config.graph), (outcome) =>
    outcome.ok
      ? { graphOk: true, httpStatus: outcome.httpStatus }
      : { graphOk: false, failureKind: classifySendFailure(outcome.failure) },
  ),
  retryPolicy: config.retryPolicy,
  leaseMs: config.leaseMs,
  unknownOutcome: config.unknownOutcome,
  invocationEndsAt: () => invocationEndsAtMs,
  followupOptions: config.followupOptions,
  // Per container: each Page's state is read at most once per PAGE_STATE_CACHE_SECONDS.
  pages: new PageHealth(new DynamoDbPageStore(doc, config.tableName), config.pageHealth),
  handOver: async (job) => {
    await enqueueJobs(sqs, config.queueUrl, [job]);
  },
  enqueue: (jobs) => enqueueJobs(sqs, config.queueUrl, jobs),
  now: Date.now,
  defer: (receiptHandle, seconds) => deferMessage(sqs, config.queueUrl, receiptHandle, seconds),
  log: logger,
  metrics: metricsRecorder,
  tag: loginIdTag,
};

const processor = new BatchProcessor(EventType.SQS);

/** SQS → first messages. Records that must come back later are reported as batch item failures. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  invocationEndsAtMs = Date.now() + context.getRemainingTimeInMillis();
  try {
    metricsRecorder.count('RecordsReceived', event.Records.length);
    return await processPartialResponse(
      event,
      (record: SQSRecord) => processQueueRecord(record, deps),
      processor,
      {
        context,
        throwOnFullBatchFailure: false,
      },
    );
  } finally {
    metrics.publishStoredMetrics();
  }
};
