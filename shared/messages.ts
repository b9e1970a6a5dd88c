import { z } from 'zod';

/**
 * The contract between the webhook (which writes queue messages) and the sender (which reads
 * them). Versioned so a sender can tell a message it does not understand from a broken one.
 */

/** A Login Connect opt-in: someone agreed to be contacted; send them one first message. */
export const OptinJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('optin'),
  pageId: z.string().min(1),
  loginId: z.string().min(1),
  /** The opt-in event's own timestamp (epoch ms): the 24 h window counts from here. */
  optinAt: z.number().int().positive(),
  /** When our webhook received it (epoch ms). */
  receivedAt: z.number().int().positive(),
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
  eventType: z.string().min(1),
  channel: z.enum(EVENT_CHANNELS),
  pageId: z.string().optional(),
  /** The person's Page-scoped id, when the event names one. */
  psid: z.string().optional(),
  /** The event's own timestamp (epoch ms), when it has one. */
  timestamp: z.number().optional(),
  receivedAt: z.number().int().positive(),
  payload: z.unknown(),
});
export type EventJob = z.infer<typeof EventJobSchema>;

/** A follow-up message accepted by the API; its content waits in the table under this id. */
export const FollowupJobSchema = z.object({
  v: z.literal(1),
  kind: z.literal('followup'),
  id: z.string().min(1),
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
  id: z.string().min(1),
  pageId: z.string().min(1),
  /** The attempt that sent it (its lease owner). */
  owner: z.string().min(1),
  messageId: z.string().min(1).optional(),
  recipientId: z.string().min(1).optional(),
  /** When Graph accepted it (epoch ms). */
  sentAt: z.number().int().positive(),
});
export type SentJob = z.infer<typeof SentJobSchema>;

export const QueueJobSchema = z.discriminatedUnion('kind', [
  OptinJobSchema,
  EventJobSchema,
  FollowupJobSchema,
  SentJobSchema,
]);
export type QueueJob = z.infer<typeof QueueJobSchema>;
