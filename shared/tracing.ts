import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Whether Tracer would trace here: its own rule (Powertools `Tracer.setTracingEnabled`), read from
 * the same environment variables. Off outside Lambda (no `AWS_EXECUTION_ENV`: tests, the local
 * stack), under SAM or Amplify's mock, and with `POWERTOOLS_TRACE_ENABLED=false`.
 */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  // Trimmed, as Powertools reads them (`getStringFromEnv`).
  const read = (name: string) => (env[name] ?? '').trim();
  if (read('POWERTOOLS_TRACE_ENABLED').toLowerCase() === 'false') return false;
  const executionEnv = read('AWS_EXECUTION_ENV');
  if (executionEnv === '' || executionEnv === 'AWS_Lambda_amplify-mock') return false;
  return read('AWS_SAM_LOCAL') === '';
}

/**
 * X-Ray through Powertools Tracer, for the functions whose time goes to DynamoDB, SQS and Graph
 * (sender, API, sweeper, watchdog). Not imported by the webhook: its one call is an SQS send,
 * which the Lambda segment already times, and Tracer (with the X-Ray SDK) would add ~130 KiB and
 * init time to the function that must answer Facebook fast (README, Tracing).
 *
 * Loaded only where it would trace (in Lambda, where active tracing is on). Loading the X-Ray SDK
 * turns on `cls-hooked`'s async hook for the whole process, and every promise then pays for it,
 * traced or not: about a quarter more CPU per DynamoDB call, and 13 % of the local sender's CPU
 * (README, "The webhook and the bundles"). Where tracing is off (tests, the local stack) nothing
 * is loaded and everything here passes through, as Tracer itself would when off.
 */
export const tracer: Tracer | undefined = tracingWanted() ? loadTracer() : undefined;

function loadTracer(): Tracer {
  // A require, not an import, so the module runs only here; esbuild bundles it all the same.
  const { Tracer } =
    require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer');
  return new Tracer({
    serviceName: 'login-connect',
    // Not every fetch: Tracer would record Graph paths (a person's app-scoped id in
    // `/{user-id}/permissions`) and send our trace header to Meta. `traced` names the Graph calls.
    captureHTTPsRequests: false,
  });
}

/** Records each call of the SDK client as a subsegment (DynamoDB, SQS), with its errors. */
export function captureClient<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/**
 * `fn` with each call in a subsegment called `name` (e.g. `Graph.send`); errors are recorded on
 * it. `facts` may add annotations from the answer (never tokens or message text). The subsegment
 * is never made the current segment: the records of a batch run at once, and X-Ray keeps one
 * current segment per Lambda instance, so one record's calls would be filed under another's.
 */
export function traced<A extends unknown[], R>(
  name: string,
  fn: (...args: A) => Promise<R>,
  facts?: (result: R) => Record<string, string | number | boolean | undefined>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const parent = tracer?.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (parent === undefined) return fn(...args);
    const subsegment = parent.addNewSubsegment(name);
    try {
      const result = await fn(...args);
      for (const [key, value] of Object.entries(facts?.(result) ?? {}))
        if (value !== undefined) subsegment.addAnnotation(key, value);
      return result;
    } catch (error) {
      subsegment.addError(error as Error);
      throw error;
    } finally {
      subsegment.close();
    }
  };
}
