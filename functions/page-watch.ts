import type { Context } from 'aws-lambda';
import { documentClient } from '../shared/aws/clients';
import { graphConfigFromEnv } from '../shared/config';
import { ENV, intFromEnv, requireEnv } from '../shared/env';
import { subscribedAppsClient } from '../shared/graph/subscribed-apps';
import { reportWatch, type WatchSummary, watchPages } from '../shared/login-connect/page-watch';
import { logger, metrics, metricsRecorder } from '../shared/powertools';
import { secretsSourceFromEnv } from '../shared/secrets';
import { DynamoDbPageStore } from '../shared/store/dynamodb-page-store';
import { optinsByDay } from '../shared/store/inspect';

const env = process.env;
const tableName = requireEnv(env, ENV.tableName);
const doc = documentClient();
const deps = {
  pages: new DynamoDbPageStore(doc, tableName),
  secrets: secretsSourceFromEnv(env),
  subscriptions: subscribedAppsClient(graphConfigFromEnv(env)),
  recentOptins: (sinceMs: number, untilMs: number) =>
    optinsByDay(doc, tableName, { sinceMs, untilMs, newestFirst: false }),
  now: Date.now,
};
const intervalMs = intFromEnv(env, ENV.pageWatchIntervalSeconds, 900) * 1000;
const options = {
  // Two runs back and ten minutes more: a missed run, and sends that came a little after.
  lookbackMs: 2 * intervalMs + 600_000,
  silenceMs: intFromEnv(env, ENV.pageOptinSilenceSeconds, 86_400) * 1000,
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
