/**
 * One function "instance" of the local stack, in a worker thread: like a Lambda execution
 * environment, it loads a handler module once (`workerData.module`) and runs the invocations it is
 * sent. Each instance has its own module state (the Powertools batch processor, logger context,
 * SDK clients), as each Lambda instance has; instances never share it.
 *
 * The module is either a function's TypeScript source (the worker then inherits the parent's
 * `--import tsx`) or the esbuild bundle `cdk synth` wrote (`handler-modules.ts`). For a bundle the
 * worker runs on plain Node 22, without tsx: this file is CommonJS with only erasable types, which
 * Node's own type stripping runs as it is, so the bundle is loaded exactly as Lambda loads it. The
 * invocation's context comes from `lambda-context.ts`, which plain Node loads the same way.
 */
import type { Context } from 'aws-lambda';

export interface FunctionInstanceData {
  /** Absolute path of the module whose `handler` export is invoked. */
  module: string;
  functionName: string;
}

export interface Invocation {
  /** Echoed in the result, for callers that run several invocations at once. */
  id?: number;
  event: unknown;
  timeoutMs: number;
}

export type InvocationResult = { id?: number } & (
  | { ok: true; response: unknown }
  | { ok: false; message: string }
);

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const { parentPort, workerData } =
  require('node:worker_threads') as typeof import('node:worker_threads');
// A `.ts` file by its full name: plain Node strips its types, sees its `import`/`export` and
// loads it as an ES module (require of ESM); under tsx it is TypeScript as usual.
const { lambdaContext } = require('./lambda-context.ts') as typeof import('./lambda-context');

const port = parentPort;
if (!port) throw new Error('function-instance.cts runs as a worker thread');
const data = workerData as FunctionInstanceData;
const { handler } = require(data.module) as { handler: Handler };
if (typeof handler !== 'function') throw new Error(`${data.module} exports no handler`);

port.on('message', (invocation: Invocation) => {
  const id = invocation.id;
  handler(invocation.event, lambdaContext(data.functionName, invocation.timeoutMs)).then(
    (response) => port.postMessage({ id, ok: true, response } satisfies InvocationResult),
    (error: unknown) =>
      port.postMessage({
        id,
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies InvocationResult),
  );
});
port.postMessage({ ready: true });
