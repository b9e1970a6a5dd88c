import { boolFromEnv, ENV, type Env, intFromEnv, requireEnv, stringFromEnv } from './env';
import type { GraphConfig } from './graph/send-api';
import { type FirstMessages, parseFirstMessages } from './login-connect/first-message';
import type { FollowupOptions } from './login-connect/followup-policy';
import type { PageHealthOptions } from './login-connect/page-state';
import type { RetryPolicy } from './login-connect/retry';
import { UNKNOWN_OUTCOME_POLICIES, type UnknownOutcomePolicy } from './login-connect/send-errors';
import type { Retention } from './store/dynamodb-optin-store';

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
  const leaseMs = intFromEnv(env, ENV.sendLeaseSeconds, 35) * 1000;
  return {
    tableName: requireEnv(env, ENV.tableName),
    queueUrl: requireEnv(env, ENV.queueUrl),
    graph: graphConfigFromEnv(env),
    retryPolicy: {
      baseSeconds: intFromEnv(env, ENV.sendRetryBaseSeconds, 30),
      maxSeconds: intFromEnv(env, ENV.sendRetryMaxSeconds, 900),
    },
    leaseMs,
    unknownOutcome: unknownOutcomeFromEnv(env),
    followupOptions: followupOptionsFromEnv(env),
    retention: retentionFromEnv(env),
    firstMessages: parseFirstMessages(templates, ENV.firstMessages),
    pageHealth: {
      ...pageBackoffFromEnv(env),
      cacheMs: intFromEnv(env, ENV.pageStateCacheSeconds, 5) * 1000,
      // A probe is one send attempt: it holds its right as long as a claim holds its lease.
      probeLeaseMs: leaseMs,
    },
  };
}

/** Where and how the functions reach Graph. */
export function graphConfigFromEnv(env: Env): GraphConfig {
  return {
    baseUrl: stringFromEnv(env, ENV.graphApiUrl, 'https://graph.facebook.com'),
    version: stringFromEnv(env, ENV.graphApiVersion, 'v25.0'),
    timeoutMs: intFromEnv(env, ENV.graphTimeoutSeconds, 10) * 1000,
  };
}

/** A paused Page's back-off (the stack settings `pageBackoffBaseSeconds` / `…MaxSeconds`). */
export function pageBackoffFromEnv(env: Env): { backoffBaseMs: number; backoffMaxMs: number } {
  const base = intFromEnv(env, ENV.pageBackoffBaseSeconds, 60);
  const max = intFromEnv(env, ENV.pageBackoffMaxSeconds, 3600);
  if (base < 1 || max < base)
    throw new Error(
      `Environment variables ${ENV.pageBackoffBaseSeconds} (${base}) and ${ENV.pageBackoffMaxSeconds} (${max}) must be 1 <= base <= max`,
    );
  return { backoffBaseMs: base * 1000, backoffMaxMs: max * 1000 };
}

/** What follow-ups may do beyond the defaults: read by the sender and the API alike. */
export function followupOptionsFromEnv(env: Env): FollowupOptions {
  return { humanAgentEnabled: boolFromEnv(env, ENV.humanAgentEnabled, false) };
}

export function unknownOutcomeFromEnv(env: Env): UnknownOutcomePolicy {
  const value = stringFromEnv(env, ENV.sendUnknownOutcome, 'retry');
  if (!(UNKNOWN_OUTCOME_POLICIES as readonly string[]).includes(value)) {
    throw new Error(
      `Environment variable ${ENV.sendUnknownOutcome} must be one of ${UNKNOWN_OUTCOME_POLICIES.join(', ')}, got "${value}"`,
    );
  }
  return value as UnknownOutcomePolicy;
}

/** How long each kind of record is kept, from the environment (the stack's `retention` settings). */
export function retentionFromEnv(env: Env): Retention {
  return {
    optinDays: intFromEnv(env, ENV.optinRetentionDays, 30),
    lockDays: intFromEnv(env, ENV.lockRetentionDays, 365),
    suppressionDays: intFromEnv(env, ENV.suppressionRetentionDays, 730),
    eventDays: intFromEnv(env, ENV.eventRetentionDays, 7),
  };
}
