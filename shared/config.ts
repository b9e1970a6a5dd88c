import { DEFAULT_SETTINGS, sendLeaseSeconds, sweepGraceSeconds } from './defaults';
import { boolFromEnv, ENV, type Env, intFromEnv, requireEnv, stringFromEnv } from './env';
import type { GraphConfig } from './graph/ports';
import { type FirstMessages, parseFirstMessages } from './login-connect/first-message';
import type { FollowupOptions } from './login-connect/followup-policy';
import type { PageHealthOptions } from './login-connect/page-state';
import type { RetryPolicy } from './login-connect/retry';
import { UNKNOWN_OUTCOME_POLICIES, type UnknownOutcomePolicy } from './login-connect/send-errors';
import type { Settings } from './settings';
import type { Retention } from './store/optin-store';

/*
 * The one place where operator settings become environment variables (`environmentFor`, used by
 * the stack) and environment variables become each function's configuration (`load*Config`, read
 * once at cold start). A variable left out falls back to what the default settings would have
 * set, so both directions share `DEFAULT_SETTINGS`.
 */

/** The functions that read settings from their environment. */
export type ConfiguredFunction = 'sender' | 'api' | 'sweeper' | 'pageWatch';

/** Each variable a setting becomes, and how. */
const FROM_SETTINGS = {
  [ENV.graphApiUrl]: (s) => s.graphApiUrl,
  [ENV.graphApiVersion]: (s) => s.graphApiVersion,
  [ENV.graphTimeoutSeconds]: (s) => String(s.graphTimeoutSeconds),
  [ENV.sendRetryBaseSeconds]: (s) => String(s.sendRetryBaseSeconds),
  [ENV.sendRetryMaxSeconds]: (s) => String(s.sendRetryMaxSeconds),
  [ENV.sendLeaseSeconds]: (s) => String(sendLeaseSeconds(s)),
  [ENV.sendUnknownOutcome]: (s) => s.sendUnknownOutcome,
  [ENV.humanAgentEnabled]: (s) => String(s.humanAgentEnabled),
  [ENV.pageBackoffBaseSeconds]: (s) => String(s.pageBackoffBaseSeconds),
  [ENV.pageBackoffMaxSeconds]: (s) => String(s.pageBackoffMaxSeconds),
  [ENV.optinRetentionDays]: (s) => String(s.retention.optinDays),
  [ENV.lockRetentionDays]: (s) => String(s.retention.lockDays),
  [ENV.suppressionRetentionDays]: (s) => String(s.retention.suppressionDays),
  [ENV.eventRetentionDays]: (s) => String(s.retention.eventDays),
  [ENV.sweepGraceSeconds]: (s) => String(sweepGraceSeconds(s)),
  [ENV.pageWatchIntervalSeconds]: (s) => String(s.pageWatch.intervalMinutes * 60),
  [ENV.pageOptinSilenceSeconds]: (s) => String(s.pageWatch.optinSilenceHours * 3600),
} satisfies Record<string, (settings: Settings) => string>;

type SettingVariable = keyof typeof FROM_SETTINGS;

const GRAPH = [ENV.graphApiUrl, ENV.graphApiVersion, ENV.graphTimeoutSeconds] as const;
const RETENTION = [
  ENV.optinRetentionDays,
  ENV.lockRetentionDays,
  ENV.suppressionRetentionDays,
  ENV.eventRetentionDays,
] as const;

/** The variables each function reads from the settings (the others it needs come from grants). */
const VARIABLES: Record<ConfiguredFunction, readonly SettingVariable[]> = {
  sender: [
    ...GRAPH,
    ENV.sendRetryBaseSeconds,
    ENV.sendRetryMaxSeconds,
    ENV.sendLeaseSeconds,
    ENV.sendUnknownOutcome,
    ENV.humanAgentEnabled,
    ENV.pageBackoffBaseSeconds,
    ENV.pageBackoffMaxSeconds,
    ...RETENTION,
  ],
  // A deletion's second pass waits for attempts in flight: the sender's lease.
  api: [...GRAPH, ENV.humanAgentEnabled, ENV.sendLeaseSeconds, ...RETENTION],
  // The sweeper only ends opt-ins, so of the retention it needs the opt-in's.
  sweeper: [ENV.sweepGraceSeconds, ENV.sendUnknownOutcome, ENV.optinRetentionDays],
  pageWatch: [...GRAPH, ENV.pageWatchIntervalSeconds, ENV.pageOptinSilenceSeconds],
};

/** The environment the stack gives `fn` for `settings` (besides what its grants set). */
export function environmentFor(settings: Settings, fn: ConfiguredFunction): Record<string, string> {
  return Object.fromEntries(VARIABLES[fn].map((name) => [name, FROM_SETTINGS[name](settings)]));
}

export interface SenderConfig {
  tableName: string;
  queueUrl: string;
  graph: GraphConfig;
  retryPolicy: RetryPolicy;
  leaseMs: number;
  unknownOutcome: UnknownOutcomePolicy;
  followupOptions: FollowupOptions;
  retention: Retention;
  firstMessages: FirstMessages;
  pageHealth: PageHealthOptions;
}

/**
 * The sender's configuration, read once at cold start; throws naming the variable at fault.
 * `firstMessagesJson` is passed separately because esbuild inlines it at synth time (see ENV).
 */
export function loadSenderConfig(env: Env, firstMessagesJson: string | undefined): SenderConfig {
  if (firstMessagesJson === undefined || firstMessagesJson === '') {
    throw new Error(`${ENV.firstMessages} must hold the first-message templates`);
  }
  let templates: unknown;
  try {
    templates = JSON.parse(firstMessagesJson);
  } catch (error) {
    throw new Error(`${ENV.firstMessages} is not JSON: ${(error as Error).message}`);
  }
  const leaseMs = leaseSecondsFromEnv(env) * 1000;
  return {
    tableName: requireEnv(env, ENV.tableName),
    queueUrl: requireEnv(env, ENV.queueUrl),
    graph: graphConfigFromEnv(env),
    retryPolicy: {
      baseSeconds: intFromEnv(env, ENV.sendRetryBaseSeconds, DEFAULT_SETTINGS.sendRetryBaseSeconds),
      maxSeconds: intFromEnv(env, ENV.sendRetryMaxSeconds, DEFAULT_SETTINGS.sendRetryMaxSeconds),
    },
    leaseMs,
    unknownOutcome: unknownOutcomeFromEnv(env),
    followupOptions: followupOptionsFromEnv(env),
    retention: retentionFromEnv(env),
    firstMessages: parseFirstMessages(templates, ENV.firstMessages),
    pageHealth: {
      ...pageBackoffFromEnv(env),
      // Not a setting: the local stack and the tests shorten it.
      cacheMs: intFromEnv(env, ENV.pageStateCacheSeconds, 5) * 1000,
      // A probe is one send attempt: it holds its right as long as a claim holds its lease.
      probeLeaseMs: leaseMs,
    },
  };
}

export interface ApiConfig {
  tableName: string;
  queueUrl: string;
  graph: GraphConfig;
  followupOptions: FollowupOptions;
  retention: Retention;
  /** The sender's claim lease: a deletion's second pass waits for attempts in flight. */
  leaseSeconds: number;
}

/** The API function's configuration, read once at cold start. */
export function loadApiConfig(env: Env): ApiConfig {
  return {
    tableName: requireEnv(env, ENV.tableName),
    queueUrl: requireEnv(env, ENV.queueUrl),
    graph: graphConfigFromEnv(env),
    followupOptions: followupOptionsFromEnv(env),
    retention: retentionFromEnv(env),
    leaseSeconds: leaseSecondsFromEnv(env),
  };
}

export interface SweeperConfig {
  tableName: string;
  queueUrl: string;
  retention: Retention;
  unknownOutcome: UnknownOutcomePolicy;
  /** How long past its lease or retry time an opt-in may sit before the sweeper takes it up. */
  graceMs: number;
}

/** The sweeper's configuration, read once at cold start. */
export function loadSweeperConfig(env: Env): SweeperConfig {
  return {
    tableName: requireEnv(env, ENV.tableName),
    queueUrl: requireEnv(env, ENV.queueUrl),
    retention: retentionFromEnv(env),
    unknownOutcome: unknownOutcomeFromEnv(env),
    graceMs: intFromEnv(env, ENV.sweepGraceSeconds, sweepGraceSeconds(DEFAULT_SETTINGS)) * 1000,
  };
}

export interface PageWatchConfig {
  tableName: string;
  graph: GraphConfig;
  /** How often the watchdog runs. */
  intervalMs: number;
  /** A Page that received opt-ins and then none for this long raises an alarm. */
  silenceMs: number;
}

/** The Page watchdog's configuration, read once at cold start. */
export function loadPageWatchConfig(env: Env): PageWatchConfig {
  const { intervalMinutes, optinSilenceHours } = DEFAULT_SETTINGS.pageWatch;
  return {
    tableName: requireEnv(env, ENV.tableName),
    graph: graphConfigFromEnv(env),
    intervalMs: intFromEnv(env, ENV.pageWatchIntervalSeconds, intervalMinutes * 60) * 1000,
    silenceMs: intFromEnv(env, ENV.pageOptinSilenceSeconds, optinSilenceHours * 3600) * 1000,
  };
}

/** Where and how the functions reach Graph. */
export function graphConfigFromEnv(env: Env): GraphConfig {
  return {
    baseUrl: stringFromEnv(env, ENV.graphApiUrl, DEFAULT_SETTINGS.graphApiUrl),
    version: stringFromEnv(env, ENV.graphApiVersion, DEFAULT_SETTINGS.graphApiVersion),
    timeoutMs:
      intFromEnv(env, ENV.graphTimeoutSeconds, DEFAULT_SETTINGS.graphTimeoutSeconds) * 1000,
  };
}

/** The sender's claim lease in seconds. */
function leaseSecondsFromEnv(env: Env): number {
  return intFromEnv(env, ENV.sendLeaseSeconds, sendLeaseSeconds(DEFAULT_SETTINGS));
}

/** A paused Page's back-off (the stack settings `pageBackoffBaseSeconds` / `…MaxSeconds`). */
export function pageBackoffFromEnv(env: Env): { backoffBaseMs: number; backoffMaxMs: number } {
  const base = intFromEnv(env, ENV.pageBackoffBaseSeconds, DEFAULT_SETTINGS.pageBackoffBaseSeconds);
  const max = intFromEnv(env, ENV.pageBackoffMaxSeconds, DEFAULT_SETTINGS.pageBackoffMaxSeconds);
  if (base < 1 || max < base)
    throw new Error(
      `Environment variables ${ENV.pageBackoffBaseSeconds} (${base}) and ${ENV.pageBackoffMaxSeconds} (${max}) must be 1 <= base <= max`,
    );
  return { backoffBaseMs: base * 1000, backoffMaxMs: max * 1000 };
}

/** What follow-ups may do beyond the defaults: read by the sender and the API alike. */
export function followupOptionsFromEnv(env: Env): FollowupOptions {
  return {
    humanAgentEnabled: boolFromEnv(env, ENV.humanAgentEnabled, DEFAULT_SETTINGS.humanAgentEnabled),
  };
}

export function unknownOutcomeFromEnv(env: Env): UnknownOutcomePolicy {
  const value = stringFromEnv(env, ENV.sendUnknownOutcome, DEFAULT_SETTINGS.sendUnknownOutcome);
  if (!(UNKNOWN_OUTCOME_POLICIES as readonly string[]).includes(value)) {
    throw new Error(
      `Environment variable ${ENV.sendUnknownOutcome} must be one of ${UNKNOWN_OUTCOME_POLICIES.join(', ')}, got "${value}"`,
    );
  }
  return value as UnknownOutcomePolicy;
}

/** How long each kind of record is kept, from the environment (the stack's `retention` settings). */
export function retentionFromEnv(env: Env): Retention {
  const defaults = DEFAULT_SETTINGS.retention;
  return {
    optinDays: intFromEnv(env, ENV.optinRetentionDays, defaults.optinDays),
    lockDays: intFromEnv(env, ENV.lockRetentionDays, defaults.lockDays),
    suppressionDays: intFromEnv(env, ENV.suppressionRetentionDays, defaults.suppressionDays),
    eventDays: intFromEnv(env, ENV.eventRetentionDays, defaults.eventDays),
  };
}
