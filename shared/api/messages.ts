import { randomBytes } from 'node:crypto';
import { MessageSchema } from '../login-connect/first-message';
import {
  checkFollowup,
  type FollowupOptions,
  type Recipient,
} from '../login-connect/followup-policy';
import { redactSecrets } from '../redact';
import type { MessageStore, OutboundMessage } from '../store/message-store';
import type { PersonStore } from '../store/person-store';
import * as z from '../zod';

export const FollowupRequestSchema = z.strictObject({
  to: z.union(
    [
      z.strictObject({ loginId: z.string().check(z.minLength(1), z.maxLength(256)) }),
      z.strictObject({ psid: z.string().check(z.minLength(1), z.maxLength(64)) }),
    ],
    {
      error: 'to must be { "loginId": … } or { "psid": … }',
    },
  ),
  message: MessageSchema,
  messagingType: z.optional(z.enum(['RESPONSE', 'UPDATE', 'MESSAGE_TAG'])),
  tag: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});
export type FollowupRequest = z.infer<typeof FollowupRequestSchema>;

export type AcceptResult =
  | { accepted: true; id: string }
  | { accepted: false; status: 400 | 404 | 409; rule: string; message: string };

/**
 * Accepts a follow-up message if the rules allow it now (they are checked again before sending):
 * records it as `queued` and returns its tracking id. The caller enqueues it.
 */
export async function acceptFollowup(
  request: FollowupRequest,
  deps: { people: PersonStore; messages: MessageStore; followupOptions: FollowupOptions },
  nowMs: number,
): Promise<AcceptResult> {
  const to = request.to as Recipient;
  const decision = checkFollowup(
    {
      to,
      ...(request.messagingType ? { messagingType: request.messagingType } : {}),
      ...(request.tag ? { tag: request.tag } : {}),
    },
    await deps.people.recipientState(to),
    nowMs,
    deps.followupOptions,
  );
  if (!decision.ok)
    return {
      accepted: false,
      status: decision.status,
      rule: decision.rule,
      message: decision.message,
    };
  const id = `msg_${randomBytes(12).toString('hex')}`;
  await deps.messages.create(
    {
      id,
      to,
      pageId: decision.pageId,
      messagingType: decision.messagingType,
      ...(decision.tag ? { tag: decision.tag } : {}),
      message: request.message as Record<string, unknown>,
    },
    nowMs,
  );
  return { accepted: true, id };
}

/** What `GET /messages/{id}` shows: where the message stands, never its content. */
export function messageView(message: OutboundMessage) {
  const status = message.status === 'sent' && message.receipt ? message.receipt : message.status;
  return {
    id: message.id,
    status,
    to: message.to,
    pageId: message.pageId,
    messagingType: message.messagingType,
    ...(message.tag ? { tag: message.tag } : {}),
    createdAt: message.createdAt,
    attempts: message.attempts,
    ...(message.sentAt ? { sentAt: message.sentAt } : {}),
    ...(message.messageId ? { messageId: message.messageId } : {}),
    ...(message.deliveredAt ? { deliveredAt: message.deliveredAt } : {}),
    ...(message.readAt ? { readAt: message.readAt } : {}),
    ...(message.reason ? { reason: message.reason } : {}),
    // Redacted when written; again here, for records written before that was so.
    ...(message.lastError
      ? {
          lastError: {
            ...message.lastError,
            ...(typeof message.lastError.message === 'string'
              ? { message: redactSecrets(message.lastError.message) }
              : {}),
          },
        }
      : {}),
  };
}
