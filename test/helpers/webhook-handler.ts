import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { acceptAllBatches } from './factories';
import { writeSecretsFile } from './secrets-file';

export const WEBHOOK_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs';

type WebhookHandler = typeof import('../../functions/webhook').handler;

/**
 * The real webhook handler with SQS mocked, for a test file: registers a `beforeAll` that sets
 * the environment and then loads the handler (it reads its configuration at import, as in
 * Lambda), and a `beforeEach` that resets the mock to accept every batch.
 */
export function useWebhookHandler() {
  const sqsMock = mockClient(SQSClient);
  let loaded: WebhookHandler | undefined;

  beforeAll(() => {
    process.env.QUEUE_URL = WEBHOOK_QUEUE_URL;
    process.env.LCM_SECRETS_FILE = writeSecretsFile();
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    ({ handler: loaded } =
      require('../../functions/webhook') as typeof import('../../functions/webhook'));
  });

  beforeEach(() => {
    sqsMock.reset();
    acceptAllBatches(sqsMock);
  });

  const handler: WebhookHandler = (event, context) => {
    if (loaded === undefined) throw new Error('the webhook handler is loaded in beforeAll');
    return loaded(event, context);
  };

  /** Every queue message the handler sent, parsed. */
  const enqueued = () =>
    sqsMock
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) =>
        (call.args[0].input.Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? '')),
      );

  return { sqsMock, handler, enqueued };
}
