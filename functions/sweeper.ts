import type { Context } from 'aws-lambda';
import { documentClient, sqsClient } from '../shared/aws/clients';
import { enqueueJobs } from '../shared/aws/sqs-queue';
import { loadSweeperConfig } from '../shared/config';
import { type SweepResult, sweep } from '../shared/login-connect/sweep';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { DynamoDbOptinStore } from '../shared/store/dynamodb-optin-store';
import { captureClient } from '../shared/tracing';

const config = loadSweeperConfig(process.env);
const sqs = sqsClient(process.env, captureClient);
const deps = {
  store: new DynamoDbOptinStore(documentClient(captureClient), config.tableName, config.retention),
  enqueue: (jobs: Parameters<typeof enqueueJobs>[2]) => enqueueJobs(sqs, config.queueUrl, jobs),
  unknownOutcome: config.unknownOutcome,
  now: Date.now,
};
// Past the queue's visibility timeout SQS has had its chance; an opt-in enqueued again gets as long.
const options = { graceMs: config.graceMs, recheckMs: config.graceMs, limit: 500 };

/** Runs on a schedule: re-enqueues lost opt-ins in time, ends passed ones as `expired`. */
export const handler = async (_event: unknown, context: Context): Promise<SweepResult> => {
  logger.addContext(context);
  try {
    const result = await sweep(deps, options);
    metricsRecorder.count('SweepRequeued', result.requeued);
    metricsRecorder.count('SweepExpired', result.expired);
    // A dead attempt whose window passed: counted with every other unknown outcome (its alarm).
    if (result.unknown > 0) metricsRecorder.count('SendOutcomeUnknown', result.unknown);
    if (result.checked > 0)
      logger.warn('sweep found opt-ins nothing was working on', { ...result });
    return result;
  } finally {
    metrics.publishStoredMetrics();
  }
};
