import { z } from 'zod';
import { DEFAULT_SETTINGS as D } from './defaults';
import { maxAttemptsInWindow } from './login-connect/retry';
import { UNKNOWN_OUTCOME_POLICIES } from './login-connect/send-errors';
import { formatIssues } from './validation';

/** Scheduled attempts a window may hold, leaving SQS receives for crashes (cap 1000). */
const MAX_SCHEDULED_ATTEMPTS = 990;

/**
 * Operator settings of a deployment. In AWS they come from the `loginConnect` object of the CDK
 * context (cdk.json); the stack turns them into the functions' environment. Each has a default a
 * production deployment can keep.
 */
export const SettingsSchema = z
  .strictObject({
    /** Graph API base URL; point it at an emulator for tests. */
    graphApiUrl: z.url({ protocol: /^https?$/ }).default(D.graphApiUrl),
    /** Graph API version used for every call. */
    graphApiVersion: z
      .string()
      .regex(/^v\d+\.\d+$/, { error: 'must look like v25.0' })
      .default(D.graphApiVersion),
    /** Abort a Send API call after this long; the attempt then counts as transient. */
    graphTimeoutSeconds: z.int().min(1).max(20).default(D.graphTimeoutSeconds),
    /** First retry delay after a transient Send API error; doubles per attempt. */
    sendRetryBaseSeconds: z.int().min(1).max(900).default(D.sendRetryBaseSeconds),
    /** Longest delay between two attempts. */
    sendRetryMaxSeconds: z.int().min(1).max(43_200).default(D.sendRetryMaxSeconds),
    /**
     * What a send whose outcome is unknown leads to (Graph gave no answer, or a sender died
     * mid-attempt; Graph has no idempotency key): `retry` sends again while the window is open (at
     * least once: a second message is possible), `hold` never does (at most once: the opt-in ends
     * as `unknown` for an operator). Either way `SendOutcomeUnknown` counts it.
     */
    sendUnknownOutcome: z.enum(UNKNOWN_OUTCOME_POLICIES).default(D.sendUnknownOutcome),
    /**
     * Meta granted this app the Human Agent feature (App Review): follow-ups may carry the
     * `HUMAN_AGENT` tag, written by a person, up to 7 days after the person's last message.
     */
    humanAgentEnabled: z.boolean().default(D.humanAgentEnabled),
    /** SQS records per sender invocation. */
    senderBatchSize: z.int().min(1).max(10).default(D.senderBatchSize),
    /** Concurrent sender invocations at most (SQS event source `maxConcurrency`). */
    senderMaxConcurrency: z.int().min(2).max(1000).default(D.senderMaxConcurrency),
    /** Sender Lambda timeout. The claim lease and the queue visibility derive from it. */
    senderTimeoutSeconds: z.int().min(15).max(300).default(D.senderTimeoutSeconds),
    /** How long records stay readable after they stop mattering, before TTL deletes them. */
    retention: z
      .strictObject({
        optinDays: z.int().min(1).max(3650).default(D.retention.optinDays),
        lockDays: z.int().min(1).max(3650).default(D.retention.lockDays),
        suppressionDays: z.int().min(1).max(3650).default(D.retention.suppressionDays),
        eventDays: z.int().min(1).max(3650).default(D.retention.eventDays),
      })
      .prefault({}),
    /** How often the sweeper looks for opt-ins nothing is working on. */
    sweepIntervalMinutes: z.int().min(1).max(60).default(D.sweepIntervalMinutes),
    /**
     * A Page whose sends fail for reasons of its own (restricted, token invalid, rate limited
     * without a usage header saying how long) pauses this long first, doubling with each pause
     * in a row; its opt-ins wait without spending attempts.
     */
    pageBackoffBaseSeconds: z.int().min(1).max(3600).default(D.pageBackoffBaseSeconds),
    /** The longest pause between two probes of a paused Page. */
    pageBackoffMaxSeconds: z.int().min(1).max(43_200).default(D.pageBackoffMaxSeconds),
    /** The Page watchdog: each Page's webhook subscription, and opt-ins that stopped coming. */
    pageWatch: z
      .strictObject({
        /** How often it runs (each run asks Graph once per Page). */
        intervalMinutes: z.int().min(1).max(60).default(D.pageWatch.intervalMinutes),
        /** A Page that received opt-ins and then none for this long raises `PageOptinsSilent`. */
        optinSilenceHours: z.int().min(1).max(720).default(D.pageWatch.optinSilenceHours),
      })
      .prefault({}),
    /** How long the functions cache the secret; a rotated token is picked up within this. */
    secretsMaxAgeSeconds: z.int().min(0).max(3600).default(D.secretsMaxAgeSeconds),
    /** HTTP API throttling on the webhook route. */
    webhookThrottle: z
      .strictObject({
        rateLimit: z.int().min(1).default(D.webhookThrottle.rateLimit),
        burstLimit: z.int().min(1).default(D.webhookThrottle.burstLimit),
      })
      .prefault({}),
    /** Per-route throttling of the business's API (`/logins`, `/optouts`, `/messages`). */
    apiThrottle: z
      .strictObject({
        rateLimit: z.int().min(1).default(D.apiThrottle.rateLimit),
        burstLimit: z.int().min(1).default(D.apiThrottle.burstLimit),
      })
      .prefault({}),
    /**
     * Optional protection against request floods (README, Protecting the API from floods). On,
     * the API is a regional REST API behind an AWS WAF web ACL that answers 429 to an IP address
     * sending more than its limit in a minute; it costs more than the HTTP API used when off.
     */
    apiFirewall: z
      .strictObject({
        enabled: z.boolean().default(D.apiFirewall.enabled),
        /** Requests one IP address may send to the webhook route in a minute. */
        webhookPerIpPerMinute: z
          .int()
          .min(10)
          .max(2_000_000_000)
          .default(D.apiFirewall.webhookPerIpPerMinute),
        /** Requests one IP address may send to all other routes together in a minute. */
        apiPerIpPerMinute: z
          .int()
          .min(10)
          .max(2_000_000_000)
          .default(D.apiFirewall.apiPerIpPerMinute),
      })
      .prefault({}),
    /** Alarm thresholds an operator may tune. Each alarm looks at 5-minute periods. */
    alarms: z
      .strictObject({
        /**
         * Share of Send API attempts that failed (`SendError` over `SendError + FirstMessageSent`),
         * in percent, above which the sender error-rate alarm fires after 3 periods in a row.
         */
        senderErrorRatePercent: z.number().min(1).max(100).default(D.alarms.senderErrorRatePercent),
        /** 5xx answers of the webhook API in one period that fire the webhook 5xx alarm. */
        webhookServerErrorCount: z.int().min(1).default(D.alarms.webhookServerErrorCount),
      })
      .prefault({}),
    /**
     * IAM ARNs (wildcards allowed) that may read the secret value besides the two functions, e.g.
     * the operator's SSO role. When set, the secret's resource policy denies
     * `secretsmanager:GetSecretValue` to every other principal, however broad its IAM policy.
     * Empty: no such deny, and any principal of the account with IAM access may read it.
     */
    secretReaderArns: z
      .array(
        z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/\S+)$/, {
          error: 'must be an IAM role, user or root ARN, like arn:aws:iam::123456789012:role/Ops',
        }),
      )
      .default([]),
    /** Path, relative to the repository, of the first-message templates. */
    firstMessagesFile: z.string().min(1).default(D.firstMessagesFile),
    /** Delete the table and queues with the stack (for throwaway test stacks only). */
    destroyOnRemoval: z.boolean().default(D.destroyOnRemoval),
  })
  .refine((s) => s.senderTimeoutSeconds >= s.graphTimeoutSeconds + 5, {
    // After Graph answers, the sender needs time to record the send or hand the record over.
    error: 'must be at least graphTimeoutSeconds + 5',
    path: ['senderTimeoutSeconds'],
  })
  .refine((s) => s.sendRetryBaseSeconds <= s.sendRetryMaxSeconds, {
    error: 'must not be larger than sendRetryMaxSeconds',
    path: ['sendRetryBaseSeconds'],
  })
  .refine((s) => s.pageBackoffBaseSeconds <= s.pageBackoffMaxSeconds, {
    error: 'must not be larger than pageBackoffMaxSeconds',
    path: ['pageBackoffBaseSeconds'],
  })
  .refine(
    (s) =>
      // Zod runs this even when a field failed; judge only a policy that is valid on its own.
      !(s.sendRetryBaseSeconds >= 1 && s.sendRetryMaxSeconds >= s.sendRetryBaseSeconds) ||
      maxAttemptsInWindow({
        baseSeconds: s.sendRetryBaseSeconds,
        maxSeconds: s.sendRetryMaxSeconds,
      }) <= MAX_SCHEDULED_ATTEMPTS,
    {
      // Each retry is one more receive of the queue message, and SQS caps maxReceiveCount at 1000.
      error: 'allows more retries in 24 h than SQS can redeliver one message (1000): raise it',
      path: ['sendRetryMaxSeconds'],
    },
  );

export type Settings = z.infer<typeof SettingsSchema>;

/** Parses operator settings; throws one error naming every bad field under `prefix`. */
export function parseSettings(input: unknown, prefix = 'loginConnect'): Settings {
  const result = SettingsSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new Error(`Invalid settings:\n${formatIssues(prefix, result.error.issues)}`);
  }
  return result.data;
}
