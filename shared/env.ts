/**
 * Names of the environment variables the stack sets and the functions read.
 * One list, so the two sides cannot drift apart.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  queueUrl: 'QUEUE_URL',
  secretArn: 'SECRET_ARN',
  /** Local mode: read the secret document from this file instead of Secrets Manager. */
  secretsFile: 'LCM_SECRETS_FILE',
  secretsMaxAgeSeconds: 'SECRETS_MAX_AGE_SECONDS',
  graphApiUrl: 'GRAPH_API_URL',
  graphApiVersion: 'GRAPH_API_VERSION',
  graphTimeoutSeconds: 'GRAPH_TIMEOUT_SECONDS',
  sendRetryBaseSeconds: 'SEND_RETRY_BASE_SECONDS',
  sendRetryMaxSeconds: 'SEND_RETRY_MAX_SECONDS',
  sendLeaseSeconds: 'SEND_LEASE_SECONDS',
  /** `true` when Meta granted the app the Human Agent feature (`HUMAN_AGENT` tag). */
  humanAgentEnabled: 'HUMAN_AGENT_ENABLED',
  /** `retry` or `hold`: what an attempt whose outcome is unknown leads to. */
  sendUnknownOutcome: 'SEND_UNKNOWN_OUTCOME',
  optinRetentionDays: 'OPTIN_RETENTION_DAYS',
  lockRetentionDays: 'LOCK_RETENTION_DAYS',
  suppressionRetentionDays: 'SUPPRESSION_RETENTION_DAYS',
  eventRetentionDays: 'EVENT_RETENTION_DAYS',
  /**
   * The validated first-message templates as JSON. In AWS esbuild inlines it into the sender
   * bundle at synth time (`define`), so it is not limited by Lambda's 4 KB of environment.
   */
  firstMessages: 'FIRST_MESSAGES_JSON',
  /** How long past its lease or retry time an opt-in may sit before the sweeper takes it up. */
  sweepGraceSeconds: 'SWEEP_GRACE_SECONDS',
  /** A paused Page's first back-off, doubling with each pause in a row, up to the max. */
  pageBackoffBaseSeconds: 'PAGE_BACKOFF_BASE_SECONDS',
  pageBackoffMaxSeconds: 'PAGE_BACKOFF_MAX_SECONDS',
  /** How long a sender container keeps a Page's state in memory before reading it again. */
  pageStateCacheSeconds: 'PAGE_STATE_CACHE_SECONDS',
  /** The watchdog's schedule: it reads the opt-ins of about two intervals back. */
  pageWatchIntervalSeconds: 'PAGE_WATCH_INTERVAL_SECONDS',
  /** A Page that received opt-ins and then none for this long raises an alarm. */
  pageOptinSilenceSeconds: 'PAGE_OPTIN_SILENCE_SECONDS',
} as const;

export type Env = Record<string, string | undefined>;

/** The value of a variable that must be set; throws naming the variable otherwise. */
export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Environment variable ${name} must be set`);
  }
  return value;
}

/** A string from the environment, or `fallback` when unset or empty. */
export function stringFromEnv(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
}

/** A whole number from the environment, or `fallback` when unset; throws on anything else. */
export function intFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new Error(`Environment variable ${name} must be a whole number, got "${raw}"`);
  }
  return value;
}

/** `true` or `false` from the environment, or `fallback` when unset; throws on anything else. */
export function boolFromEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Error(`Environment variable ${name} must be true or false, got "${raw}"`);
}
