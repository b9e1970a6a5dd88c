import { FIRST_MESSAGE_WINDOW_MS } from './login-connect/window';
import { isWellFormed } from './text';
import * as z from './zod';

/**
 * The contract between the webhook (which writes queue messages) and the sender (which reads
 * them). Versioned so a sender can tell a message it does not understand from a broken one.
 */

/**
 * The longest `login_id` accepted, in UTF-16 code units. Facebook's are 64 hex characters; 256
 * leaves room for a format change while every key built from one (`LOGIN#<login_id>`,
 * `<optinAt>#<login_id>` in the `byOptinDay` index, at most 768 UTF-8 bytes of id) stays far
 * below DynamoDB's 1,024-byte sort-key limit.
 */
export const MAX_LOGIN_ID_LENGTH = 256;
/** A Page id is a string of digits, as Graph gives it (and as `POST /logins` requires). */
export const MAX_PAGE_ID_LENGTH = 32;
/**
 * How far in the future an opt-in's timestamp may be (Facebook's clock against ours). Within it
 * the window still counts from our receive time at the latest; beyond it the opt-in is rejected.
 */
export const OPTIN_FUTURE_SKEW_MS = 5 * 60 * 1000;

/**
 * Whitespace, control characters and U+FFFD (what a byte that is not UTF-8 decodes to): never
 * part of an id Facebook sends, and an id read through them would not be the id it sent.
 */
/**
 * `zod/mini`, the tree-shakable build of zod: the webhook bundles these schemas, and zod's full
 * build would be most of its bundle and of its cold start (see README, "The webhook and the
 * bundles").
 */
const positiveInt = z.int().check(z.positive());
const nonNegativeInt = z.int().check(z.nonnegative());
const nonEmpty = z.string().check(z.minLength(1));

const BLANK_OR_CONTROL = /[\s\p{Cc}\uFFFD]/u;

/**
 * The `login_id` that drives a send, exactly as Facebook sent it: a string (a number is refused,
 * never turned into one), not trimmed, well-formed Unicode without whitespace, control
 * characters or U+FFFD, at most `MAX_LOGIN_ID_LENGTH` long.
 */
export const LoginIdSchema = z.string({ error: 'must be a string' }).check(
  z.minLength(1, { error: 'must not be empty' }),
  z.maxLength(MAX_LOGIN_ID_LENGTH, {
    error: `must be at most ${MAX_LOGIN_ID_LENGTH} characters`,
  }),
  z.refine(isWellFormed, { error: 'must be well-formed Unicode' }),
  z.refine((id) => !BLANK_OR_CONTROL.test(id), {
    error: 'must not contain whitespace, control characters or U+FFFD',
  }),
);

/** The Page id that drives a send: a string of 1 to 32 digits, exactly as sent. */
export const PageIdSchema = z.string({ error: 'must be a string' }).check(
  z.regex(new RegExp(`^[0-9]{1,${MAX_PAGE_ID_LENGTH}}$`), {
    error: `must be a string of 1 to ${MAX_PAGE_ID_LENGTH} digits`,
  }),
);

/**
 * The time (epoch ms) the opt-in being parsed is judged at: set by `parseWebhookOptin` for one
 * synchronous parse and cleared after it (NaN fails both window checks, so a parse that did not
 * set it refuses). This lets the schemas below be built once, at load: built per delivery, their
 * construction took about 15 µs, more than the rest of the webhook's work on a one-opt-in body
 * (README, "The webhook and the bundles").
 */
let judgedAt = Number.NaN;

/**
 * An opt-in's own time, judged at `judgedAt`: an integer of epoch milliseconds whose 24 h window
 * is still open, and at most `OPTIN_FUTURE_SKEW_MS` ahead. Seconds are not guessed: a time in
 * seconds reads as January 1970 and is refused as outside the window.
 */
const optinTimestampSchema = z.number({ error: 'must be a number of epoch milliseconds' }).check(
  z.refine(Number.isSafeInteger, { error: 'must be an integer of epoch milliseconds' }),
  z.refine((ms) => ms + FIRST_MESSAGE_WINDOW_MS > judgedAt, {
    error: 'is older than the 24 h window (or is not in milliseconds)',
  }),
  z.refine((ms) => ms <= judgedAt + OPTIN_FUTURE_SKEW_MS, {
    error: `is more than ${OPTIN_FUTURE_SKEW_MS / 60_000} minutes in the future`,
  }),
);

/**
 * The fields of a webhook opt-in that drive a send, as the webhook found them. Parsed strictly
 * (`parseWebhookOptin`): an opt-in that fails this is recorded as rejected and never sent (see
 * RejectedOptinJob).
 */
const webhookOptinSchema = z.object({
  loginId: LoginIdSchema,
  pageId: PageIdSchema,
  timestamp: optinTimestampSchema,
});

/** `input` parsed against the webhook opt-in contract, its time judged at `receivedAt` (epoch ms). */
export function parseWebhookOptin(input: unknown, receivedAt: number) {
  judgedAt = receivedAt;
  try {
    return webhookOptinSchema.safeParse(input);
  } finally {
    judgedAt = Number.NaN;
  }
}

/** A Login Connect opt-in: someone agreed to be contacted; send them one first message. */
export const OptinJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('optin'),
  pageId: PageIdSchema,
  loginId: LoginIdSchema,
  /** The opt-in event's own timestamp (epoch ms): the 24 h window counts from here. */
  optinAt: positiveInt,
  /** When our webhook received it (epoch ms). */
  receivedAt: positiveInt,
  source: z.enum(['webhook', 'login']),
});
export type OptinJob = z.infer<typeof OptinJobSchema>;

/** Where in a webhook entry an event was found. */
export const EVENT_CHANNELS = ['messaging', 'standby', 'changes', 'other'] as const;

/** Any other webhook event, carried as received so a later version can act on it. */
export const EventJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('event'),
  /** e.g. `message`, `delivery`, `read`, `postback`, `optin`, `change:feed`, `unknown`. */
  eventType: nonEmpty,
  channel: z.enum(EVENT_CHANNELS),
  pageId: z.optional(z.string()),
  /** The person's Page-scoped id, when the event names one. */
  psid: z.optional(z.string()),
  /** The event's own timestamp (epoch ms), when it has one. */
  timestamp: z.optional(z.number()),
  receivedAt: positiveInt,
  payload: z.unknown(),
});
export type EventJob = z.infer<typeof EventJobSchema>;

/** A follow-up message accepted by the API; its content waits in the table under this id. */
export const FollowupJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('followup'),
  id: nonEmpty,
});
export type FollowupJob = z.infer<typeof FollowupJobSchema>;

/**
 * A send Graph accepted that its sender could not record before it had to stop (DynamoDB kept
 * refusing the write): handed over through the queue so the record is written later, and the
 * message is never sent again. `target` says which record: an opt-in (`id` is the `login_id`) or a
 * follow-up (`id` is its tracking id).
 */
export const SentJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('sent'),
  target: z.enum(['optin', 'followup']),
  id: nonEmpty,
  pageId: nonEmpty,
  /** The attempt that sent it (its lease owner). */
  owner: nonEmpty,
  messageId: z.optional(nonEmpty),
  recipientId: z.optional(nonEmpty),
  /** When Graph accepted it (epoch ms). */
  sentAt: positiveInt,
  /**
   * For an opt-in, its own timestamp (epoch ms): the record is written only for that very opt-in,
   * never over a newer one (a new consent after a deletion).
   */
  optinAt: z.optional(positiveInt),
});
export type SentJob = z.infer<typeof SentJobSchema>;
/** The longest reason and excerpt a rejected opt-in carries (and its record keeps). */
export const MAX_REJECTION_REASON_LENGTH = 1_000;
export const MAX_REJECTED_EXCERPT_LENGTH = 2_000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A webhook opt-in that broke the contract (`parseWebhookOptin`): never sent, only recorded (as
 * a `REJECTED#` item) so an operator can see it. Bounded whatever the opt-in held: the
 * `login_id` is kept only when it is a string, cut to `MAX_LOGIN_ID_LENGTH`, with the SHA-256 of
 * the whole string (how `lcm inspect` finds it); the item itself only as its hash, size and a
 * short excerpt.
 */
export const RejectedOptinJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('rejected_optin'),
  /** Every rule it broke, e.g. `timestamp: must be an integer of epoch milliseconds`. */
  reason: z.string().check(z.minLength(1), z.maxLength(MAX_REJECTION_REASON_LENGTH)),
  channel: z.enum(['messaging', 'standby']),
  loginId: z.optional(z.string().check(z.maxLength(MAX_LOGIN_ID_LENGTH))),
  /** SHA-256 (hex) of the whole `login_id` string, when it is a string. */
  loginIdSha256: z.optional(z.string().check(z.regex(SHA256_HEX))),
  /** The `login_id`'s length when longer than what `loginId` keeps. */
  loginIdLength: z.optional(nonNegativeInt),
  /** The Page id, when it is a valid one. */
  pageId: z.optional(PageIdSchema),
  receivedAt: positiveInt,
  /** The `messaging`/`standby` item as received: SHA-256 and size of its JSON, and its start. */
  item: z.object({
    sha256: z.string().check(z.regex(SHA256_HEX)),
    bytes: nonNegativeInt,
    excerpt: z.string().check(z.maxLength(MAX_REJECTED_EXCERPT_LENGTH)),
  }),
});
export type RejectedOptinJob = z.infer<typeof RejectedOptinJobSchema>;

/**
 * A data deletion's second pass, queued to run once every attempt in flight at the time of the
 * deletion has ended (its lease and hand-over grace): an attempt that had already claimed may
 * have written a `LOCK`, pointers or a suppression after the first pass read the person's
 * partitions. Carries the identifiers for that short while, in the encrypted queue.
 */
export const EraseJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('erase'),
  /** The deletion's confirmation code: the status record the second pass adds its counts to. */
  code: z.string().check(z.regex(/^[0-9a-f]{20}$/)),
  ids: z
    .array(
      z.object({
        kind: z.enum(['login', 'psid', 'asid']),
        id: z.string().check(z.minLength(1), z.maxLength(512)),
      }),
    )
    .check(z.minLength(1), z.maxLength(256)),
});
export type EraseJob = z.infer<typeof EraseJobSchema>;

export const QueueJobSchema = z.discriminatedUnion('kind', [
  EraseJobSchema,
  OptinJobSchema,
  EventJobSchema,
  FollowupJobSchema,
  SentJobSchema,
  RejectedOptinJobSchema,
]);
export type QueueJob = z.infer<typeof QueueJobSchema>;
