import type { Context } from 'aws-lambda';
import { documentClient } from '../shared/aws/clients';
import { loadPageWatchConfig } from '../shared/config';
import type { SubscribedAppsClient } from '../shared/graph/ports';
import { subscribedAppsClient } from '../shared/graph/subscribed-apps';
import { reportWatch, type WatchSummary, watchPages } from '../shared/login-connect/page-watch';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbPageStore } from '../shared/store/dynamodb-page-store';
import { optinsByDay } from '../shared/store/inspect';
import { captureClient, traced } from '../shared/tracing';

/** Each Graph call of the watchdog in a subsegment of its own. */
function tracedSubscriptions(client: SubscribedAppsClient): SubscribedAppsClient {
  const ok = (result: { ok: boolean }) => ({ graphOk: result.ok });
  return {
    list: traced('Graph.subscribedApps.list', client.list.bind(client), ok),
    subscribe: traced('Graph.subscribedApps.subscribe', client.subscribe.bind(client), ok),
  };
}

const config = loadPageWatchConfig(process.env);
const doc = documentClient(captureClient);
const deps = {
  pages: new DynamoDbPageStore(doc, config.tableName),
  secrets: secretsSourceFromEnv(process.env),
  subscriptions: tracedSubscriptions(subscribedAppsClient(config.graph)),
  recentOptins: (sinceMs: number, untilMs: number) =>
    optinsByDay(doc, config.tableName, { sinceMs, untilMs, newestFirst: false }),
  now: Date.now,
};
const options = {
  // Two runs back and ten minutes more: a missed run, and sends that came a little after.
  lookbackMs: 2 * config.intervalMs + 600_000,
  silenceMs: config.silenceMs,
};

/** Runs on a schedule: each Page's webhook subscription, opt-ins that stopped, paused Pages. */
export const handler = async (_event: unknown, context: Context): Promise<WatchSummary> => {
  logger.addContext(context);
  try {
    return reportWatch(await watchPages(deps, options), { log: logger, metrics: metricsRecorder });
  } finally {
    metrics.publishStoredMetrics();
  }
};
