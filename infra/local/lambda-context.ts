import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * The Lambda context a local invocation gets, with a clock for `getRemainingTimeInMillis`.
 *
 * `function-instance.cts` requires this file in a worker on plain Node 22 (a bundle's instance, no
 * tsx), which strips its types and loads it as an ES module: keep it to erasable TypeScript and
 * imports of Node built-ins and types only.
 */
export function lambdaContext(functionName = 'fn', timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
