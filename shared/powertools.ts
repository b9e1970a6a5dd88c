import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** One structured JSON logger for the whole product. Never give it tokens or message text. */
export const logger = new Logger({ serviceName: 'login-connect' });

/** CloudWatch metrics in Embedded Metric Format. */
export const metrics = new Metrics({ namespace: 'LoginConnect', serviceName: 'login-connect' });

/**
 * A stable, non-reversible tag for a `login_id` in logs: enough to correlate the lines about one
 * person, without writing the identifier itself into log storage.
 */
export function loginIdTag(loginId: string): string {
  return createHash('sha256').update(loginId).digest('hex').slice(0, 16);
}

/** Counts and timings for the domain code, on the shared metrics buffer. */
export const metricsRecorder = {
  count(name: string, value = 1, dimensions?: Record<string, string>): void {
    if (dimensions === undefined) {
      metrics.addMetric(name, MetricUnit.Count, value);
      return;
    }
    // A metric with its own dimensions goes out on its own, so it does not tag the others.
    const single = metrics.singleMetric();
    for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
    single.addMetric(name, MetricUnit.Count, value);
  },
  milliseconds(name: string, value: number): void {
    metrics.addMetric(name, MetricUnit.Milliseconds, value);
  },
};
