import { DEFAULT_SETTINGS as D } from './defaults';
import { maxAttemptsInWindow } from './login-connect/retry';
import { UNKNOWN_OUTCOME_POLICIES } from './login-connect/send-errors';
import { formatIssues } from './validation';
import * as z from './zod';

/** Scheduled attempts a window may hold, leaving SQS receives for crashes (cap 1000). */
const MAX_SCHEDULED_ATTEMPTS = 990;

/** An integer of at least `min` and, if given, at most `max`. */
const intIn = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.gte(min)) : z.int().check(z.gte(min), z.lte(max));

/**
 * Operator settings of a deployment. In AWS they come from the `loginConnect` object of the CDK
 * context (cdk.json); the stack turns them into the functions' environment. Each has a default a
 * production deployment can keep.
 */
export const SettingsSchema = z
  .strictObject({
    /** Graph API base URL; point it at an emulator for tests. */
    graphApiUrl: z._default(z.url({ protocol: /^https?$/ }), D.graphApiUrl),
    /** Graph API version used for every call. */
    graphApiVersion: z._default(
      z.string().check(z.regex(/^v\d+\.\d+$/, { error: 'must look like v25.0' })),
      D.graphApiVersion,
    ),
    /** Abort a Send API call after this long; the attempt then counts as transient. */
    graphTimeoutSeconds: z._default(intIn(1, 20), D.graphTimeoutSeconds),
    /** First retry delay after a transient Send API error; doubles per attempt. */
    sendRetryBaseSeconds: z._default(intIn(1, 900), D.sendRetryBaseSeconds),
    /** Longest delay between two attempts. */
    sendRetryMaxSeconds: z._default(intIn(1, 43_200), D.sendRetryMaxSeconds),
    /**
     * What a send whose outcome is unknown leads to (Graph gave no answer, or a sender died
     * mid-attempt; Graph has no idempotency key): `retry` sends again while the window is open (at
     * least once: a second message is possible), `hold` never does (at most once: the opt-in ends
     * as `unknown` for an operator). Either way `SendOutcomeUnknown` counts it.
     */
    sendUnknownOutcome: z._default(z.enum(UNKNOWN_OUTCOME_POLICIES), D.sendUnknownOutcome),
    /**
     * Meta granted this app the Human Agent feature (App Review): follow-ups may carry the
     * `HUMAN_AGENT` tag, written by a person, up to 7 days after the person's last message.
     */
    humanAgentEnabled: z._default(z.boolean(), D.humanAgentEnabled),
    /** SQS records per sender invocation. */
    senderBatchSize: z._default(intIn(1, 10), D.senderBatchSize),
    /** Concurrent sender invocations at most (SQS event source `maxConcurrency`). */
    senderMaxConcurrency: z._default(intIn(2, 1000), D.senderMaxConcurrency),
    /** Sender Lambda timeout. The claim lease and the queue visibility derive from it. */
    senderTimeoutSeconds: z._default(intIn(15, 300), D.senderTimeoutSeconds),
    /** How long records stay readable after they stop mattering, before TTL deletes them. */
    retention: z.prefault(
      z.strictObject({
        optinDays: z._default(intIn(1, 3650), D.retention.optinDays),
        lockDays: z._default(intIn(1, 3650), D.retention.lockDays),
        suppressionDays: z._default(intIn(1, 3650), D.retention.suppressionDays),
        eventDays: z._default(intIn(1, 3650), D.retention.eventDays),
      }),
      {},
    ),
    /** How often the sweeper looks for opt-ins nothing is working on. */
    sweepIntervalMinutes: z._default(intIn(1, 60), D.sweepIntervalMinutes),
    /**
     * A Page whose sends fail for reasons of its own (restricted, token invalid, rate limited
     * without a usage header saying how long) pauses this long first, doubling with each pause
     * in a row; its opt-ins wait without spending attempts.
     */
    pageBackoffBaseSeconds: z._default(intIn(1, 3600), D.pageBackoffBaseSeconds),
    /** The longest pause between two probes of a paused Page. */
    pageBackoffMaxSeconds: z._default(intIn(1, 43_200), D.pageBackoffMaxSeconds),
    /** The Page watchdog: each Page's webhook subscription, and opt-ins that stopped coming. */
    pageWatch: z.prefault(
      z.strictObject({
        /** How often it runs (each run asks Graph once per Page). */
        intervalMinutes: z._default(intIn(1, 60), D.pageWatch.intervalMinutes),
        /** A Page that received opt-ins and then none for this long raises `PageOptinsSilent`. */
        optinSilenceHours: z._default(intIn(1, 720), D.pageWatch.optinSilenceHours),
      }),
      {},
    ),
    /** How long the functions cache the secret; a rotated token is picked up within this. */
    secretsMaxAgeSeconds: z._default(intIn(0, 3600), D.secretsMaxAgeSeconds),
    /** HTTP API throttling on the webhook route. */
    webhookThrottle: z.prefault(
      z.strictObject({
        rateLimit: z._default(intIn(1), D.webhookThrottle.rateLimit),
        burstLimit: z._default(intIn(1), D.webhookThrottle.burstLimit),
      }),
      {},
    ),
    /** Per-route throttling of the business's API (`/logins`, `/optouts`, `/messages`). */
    apiThrottle: z.prefault(
      z.strictObject({
        rateLimit: z._default(intIn(1), D.apiThrottle.rateLimit),
        burstLimit: z._default(intIn(1), D.apiThrottle.burstLimit),
      }),
      {},
    ),
    /**
     * Optional protection against request floods (README, Protecting the API from floods). On,
     * the API is a regional REST API behind an AWS WAF web ACL that answers 429 to an IP address
     * sending more than its limit in a minute; it costs more than the HTTP API used when off.
     */
    apiFirewall: z.prefault(
      z.strictObject({
        enabled: z._default(z.boolean(), D.apiFirewall.enabled),
        /** Requests one IP address may send to the webhook route in a minute. */
        webhookPerIpPerMinute: z._default(
          intIn(10, 2_000_000_000),
          D.apiFirewall.webhookPerIpPerMinute,
        ),
        /** Requests one IP address may send to all other routes together in a minute. */
        apiPerIpPerMinute: z._default(intIn(10, 2_000_000_000), D.apiFirewall.apiPerIpPerMinute),
      }),
      {},
    ),
    /** Alarm thresholds an operator may tune. Each alarm looks at 5-minute periods. */
    alarms: z.prefault(
      z.strictObject({
        /**
         * Share of Send API attempts that failed (`SendError` over `SendError + FirstMessageSent`),
         * in percent, above which the sender error-rate alarm fires after 3 periods in a row.
         */
        senderErrorRatePercent: z._default(
          z.number().check(z.gte(1), z.lte(100)),
          D.alarms.senderErrorRatePercent,
        ),
        /** 5xx answers of the webhook API in one period that fire the webhook 5xx alarm. */
        webhookServerErrorCount: z._default(intIn(1), D.alarms.webhookServerErrorCount),
      }),
      {},
    ),
    /**
     * IAM ARNs (wildcards allowed) that may read the secret value besides the two functions, e.g.
     * the operator's SSO role. When set, the secret's resource policy denies
     * `secretsmanager:GetSecretValue` to every other principal, however broad its IAM policy.
     * Empty: no such deny, and any principal of the account with IAM access may read it.
     */
    secretReaderArns: z._default(
      z.array(
        z.string().check(
          z.regex(/^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/\S+)$/, {
            error: 'must be an IAM role, user or root ARN, like arn:aws:iam::123456789012:role/Ops',
          }),
        ),
      ),
      [],
    ),
    /** Path, relative to the repository, of the first-message templates. */
    firstMessagesFile: z._default(z.string().check(z.minLength(1)), D.firstMessagesFile),
    /** Delete the table and queues with the stack (for throwaway test stacks only). */
    destroyOnRemoval: z._default(z.boolean(), D.destroyOnRemoval),
  })
  .check(
    z.refine((s) => s.senderTimeoutSeconds >= s.graphTimeoutSeconds + 5, {
      // After Graph answers, the sender needs time to record the send or hand the record over.
      error: 'must be at least graphTimeoutSeconds + 5',
      path: ['senderTimeoutSeconds'],
    }),
    z.refine((s) => s.sendRetryBaseSeconds <= s.sendRetryMaxSeconds, {
      error: 'must not be larger than sendRetryMaxSeconds',
      path: ['sendRetryBaseSeconds'],
    }),
    z.refine((s) => s.pageBackoffBaseSeconds <= s.pageBackoffMaxSeconds, {
      error: 'must not be larger than pageBackoffMaxSeconds',
      path: ['pageBackoffBaseSeconds'],
    }),
    z.refine(
      (s) =>
        // Zod runs this even when a field failed; judge only a policy that is valid on its own.
        !(s.sendRetryBaseSeconds >= 1 && s.sendRetryMaxSeconds >= s.sendRetryBaseSeconds) ||
        maxAttemptsInWindow({
          baseSeconds: s.sendRetryBaseSeconds,
          maxSeconds: s.sendRetryMaxSeconds,
        }) <= MAX_SCHEDULED_ATTEMPTS,
      {
        // Each retry is one more receive of the queue message; SQS caps maxReceiveCount at 1000.
        error: 'allows more retries in 24 h than SQS can redeliver one message (1000): raise it',
        path: ['sendRetryMaxSeconds'],
      },
    ),
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
