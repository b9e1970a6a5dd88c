/**
 * `npm start`: the whole pipeline on this machine, in the foreground until Ctrl-C.
 * `npm start -- --fresh` deletes the local DynamoDB data first. See the README for the variables.
 */
import { relative } from 'node:path';
import { type LocalStack, optionsFromEnv, startLocalStack } from './stack';

async function main(): Promise<void> {
  const startedAt = Date.now();
  const options = optionsFromEnv(process.env, process.argv.slice(2));
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

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
