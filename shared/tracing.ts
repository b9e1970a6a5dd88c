import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * X-Ray through Powertools Tracer, for the functions whose time goes to DynamoDB, SQS and Graph
 * (sender, API, sweeper, watchdog). Not imported by the webhook: its one call is an SQS send,
 * which the Lambda segment already times, and Tracer (with the X-Ray SDK) would add ~120 KiB and
 * init time to the function that must answer Facebook fast (README, Tracing). Outside Lambda
 * (tests, the local stack) Tracer is off and everything here passes through.
 */
export const tracer = new Tracer({
  serviceName: 'login-connect',
  // Not every fetch: Tracer would record Graph paths (a person's app-scoped id in
  // `/{user-id}/permissions`) and send our trace header to Meta. `traced` names the Graph calls.
  captureHTTPsRequests: false,
});

/** Records each call of the SDK client as a subsegment (DynamoDB, SQS), with its errors. */
export function captureClient<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
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
    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
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
