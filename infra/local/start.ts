/**
 * `npm start`: the whole pipeline on this machine, in the foreground until Ctrl-C.
 * `npm start -- --fresh` deletes the local DynamoDB data first. See the README for the variables.
 */
import { relative } from 'node:path';
import { UsageError } from '../cli/errors';
import { parseOptions } from '../cli/options';
import { type LocalStack, optionsFromEnv, startLocalStack } from './stack';

export const USAGE = `usage: npm start [-- --fresh]

Runs the whole pipeline on this machine (webhook and API, queues, sender, sweeper, Page watchdog,
DynamoDB Local and a Graph API emulator) in the foreground until Ctrl-C.

  --fresh        start with an empty table and empty queues (deletes <LCM_DATA_DIR>/dynamodb and sqs)
  -h, --help     this help

Environment (README, "Run it locally"): PORT (3000), DYNAMODB_PORT (8000), SQS_PORT (9324),
GRAPH_PORT (3001), GRAPH_API_URL (a Graph API instead of the emulator), LCM_DATA_DIR (.local),
LCM_SECRETS_FILE, TABLE_NAME, SEND_RETRY_BASE_SECONDS, SEND_RETRY_MAX_SECONDS,
SEND_UNKNOWN_OUTCOME, HUMAN_AGENT_ENABLED, SENDER_TIMEOUT_SECONDS, SENDER_BATCH_SIZE,
SENDER_CONCURRENCY, SENDER_BATCH_WINDOW_SECONDS, GRAPH_TIMEOUT_SECONDS, SWEEP_INTERVAL_SECONDS,
SWEEP_GRACE_SECONDS, PAGE_BACKOFF_BASE_SECONDS, PAGE_BACKOFF_MAX_SECONDS,
PAGE_STATE_CACHE_SECONDS, PAGE_WATCH_INTERVAL_SECONDS, PAGE_OPTIN_SILENCE_SECONDS.

Exit codes: 0 stopped, 1 error, 2 usage.`;

/**
 * Reads `npm start`'s command line. Throws `UsageError` (exit code 2) for an unknown option or
 * an argument (it takes none).
 */
export function parseStartArgs(argv: string[]): { help: boolean; fresh: boolean } {
  const { values } = parseOptions({
    argv,
    options: { fresh: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    usage: USAGE,
  });
  return { help: values.help === true, fresh: values.fresh === true };
}

async function main(argv: string[]): Promise<void> {
  const args = parseStartArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const startedAt = Date.now();
  const options = optionsFromEnv(process.env, args.fresh ? ['--fresh'] : []);
  console.log(`Starting the Login Connect local stack${options.fresh ? ' (fresh data)' : ''}…`);
  let stack: LocalStack;
  try {
    stack = await startLocalStack(options);
  } catch (error) {
    console.error(`Could not start the local stack: ${(error as Error).message}`);
    process.exit(1);
  }
  const i = stack.info;
  const path = (p: string) => relative(process.cwd(), p) || p;
  console.log(
    [
      '',
      `  Webhook         ${i.webhookUrl}`,
      `  Verify token    ${i.verifyToken}`,
      i.apiKey
        ? `  API             ${i.apiUrl}   (Authorization: Bearer ${i.apiKey})`
        : '  API             no key: add apiKeys to the secret file',
      `  App secret      ${i.appSecret}   (signs webhooks: X-Hub-Signature-256)`,
      `  Secret file     ${path(i.secretsFile)}   (same JSON shape as the Secrets Manager secret)`,
      `  Pages           ${i.pageIds.join(', ')}`,
      i.graphEmulatorUrl
        ? `  Graph emulator  ${i.graphEmulatorUrl}   (messages: ${i.graphEmulatorUrl}/_emulator/messages)`
        : `  Graph API       ${i.graphApiUrl}   (GRAPH_API_URL; no emulator started)`,
      `  DynamoDB        ${i.dynamodbEndpoint}   table ${i.tableName}   data in ${path(i.dataDir)}/dynamodb`,
      `  SQS             ${i.sqsEndpoint}`,
      `  Queue           ${i.queueUrl}`,
      `  Dead letters    ${i.deadLetterQueueUrl}`,
      '',
      `  Inspect:  aws dynamodb scan --endpoint-url ${i.dynamodbEndpoint} --region ${i.region} --table-name ${i.tableName}`,
      '  Try it:   npm run simulate -- optin',
      '',
      `Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: the whole pipeline is up. Ctrl-C stops it.`,
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await stack.stop();
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // A crash here must not leave DynamoDB Local or the poller running without us.
  process.on('uncaughtException', (error) => {
    console.error('The local stack crashed:', error);
    void stack.stop().finally(() => process.exit(1));
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    if (error instanceof UsageError) {
      console.error(`npm start: ${error.message}\n\n${error.usage ?? USAGE}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  });
}
