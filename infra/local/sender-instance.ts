/**
 * One sender "instance" of the local event source (`poller.ts`), in a worker thread: like a Lambda
 * execution environment, it loads the real sender handler once and runs one invocation at a time.
 * Each instance has its own module state (the Powertools batch processor, logger context, SDK
 * clients), as each Lambda instance has; invocations never share it.
 */
import { parentPort } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export interface Invocation {
  event: SQSEvent;
  timeoutMs: number;
}

export type InvocationResult =
  | { ok: true; response: SQSBatchResponse }
  | { ok: false; message: string };

const port = parentPort;
if (!port) throw new Error('sender-instance.ts runs as a worker thread of poller.ts');
const { handler } = require('../../functions/sender') as typeof import('../../functions/sender');

port.on('message', (invocation: Invocation) => {
  handler(invocation.event, lambdaContext('sender', invocation.timeoutMs)).then(
    (response) => port.postMessage({ ok: true, response } satisfies InvocationResult),
    (error: unknown) =>
      port.postMessage({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies InvocationResult),
  );
});
port.postMessage({ ready: true });
