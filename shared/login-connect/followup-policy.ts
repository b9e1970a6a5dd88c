import { FIRST_MESSAGE_WINDOW_MS } from './window';

/** Who a follow-up is for: a `login_id` (after its first message) or a PSID. */
export type Recipient =
  | { loginId: string; psid?: undefined }
  | { psid: string; loginId?: undefined };

/** What the records say about that person, as far as the rules need it. */
export interface RecipientState {
  suppressed?: { source: string; reason: string };
  /** For a `login_id`: its opt-in record. */
  firstMessage?: { status: string; pageId: string; optinAtMs: number };
  /** For a `login_id`: the Page its first message went through. */
  lockedPageId?: string;
  /** The PSID: the one asked for, or the one linked to the `login_id`. */
  psid?: string;
  /** The PSID's Page and the time of the person's last message to it. */
  profile?: { pageId: string; lastUserMessageAtMs?: number };
}

export type MessagingType = 'RESPONSE' | 'UPDATE' | 'MESSAGE_TAG';

export type PolicyDecision =
  | {
      ok: true;
      pageId: string;
      recipient: { login_id: string } | { id: string };
      messagingType: MessagingType;
      tag?: string;
    }
  | { ok: false; status: 400 | 404 | 409; rule: string; message: string };

const refuse = (status: 400 | 404 | 409, rule: string, message: string): PolicyDecision => ({
  ok: false,
  status,
  rule,
  message,
});

/**
 * Whether a follow-up message may be sent, and how: Messenger's rules after the first message.
 * Checked when the message is accepted and again right before it is sent.
 *  - Nobody who opted out gets anything.
 *  - A `login_id`'s first message comes first (and it is never tagged), and the Page lock holds.
 *  - Inside 24 h of the person's last message (or, before they ever wrote, of the opt-in),
 *    `RESPONSE`/`UPDATE`; outside, only `MESSAGE_TAG` with a tag.
 */
export function checkFollowup(
  request: { to: Recipient; messagingType?: MessagingType; tag?: string },
  state: RecipientState,
  nowMs: number,
): PolicyDecision {
  const messagingType: MessagingType =
    request.messagingType ?? (request.tag ? 'MESSAGE_TAG' : 'UPDATE');
  if (messagingType === 'MESSAGE_TAG' && !request.tag) {
    return refuse(
      400,
      'tag_required',
      "MESSAGE_TAG needs a tag (one of Meta's approved Message Tags).",
    );
  }
  if (messagingType !== 'MESSAGE_TAG' && request.tag) {
    return refuse(
      400,
      'tag_needs_message_tag',
      `A tag can only be sent with messagingType MESSAGE_TAG, not ${messagingType}.`,
    );
  }
  if (state.suppressed) {
    return refuse(
      409,
      'opted_out',
      `The person opted out (${state.suppressed.source}: ${state.suppressed.reason}); nothing may be sent to them.`,
    );
  }

  let pageId: string;
  let windowStartMs: number | undefined;
  if (request.to.loginId !== undefined) {
    if (!state.firstMessage)
      return refuse(404, 'unknown_login_id', 'No opt-in is recorded for this login_id.');
    if (state.firstMessage.status !== 'sent') {
      return refuse(
        409,
        'first_message_not_sent',
        `The first message to a login_id must go first, untagged; it is ${state.firstMessage.status}.`,
      );
    }
    pageId = state.lockedPageId ?? state.firstMessage.pageId;
    windowStartMs = Math.max(state.firstMessage.optinAtMs, state.profile?.lastUserMessageAtMs ?? 0);
  } else {
    if (!state.profile)
      return refuse(404, 'unknown_psid', 'This PSID has never written to a Page of ours.');
    pageId = state.profile.pageId;
    windowStartMs = state.profile.lastUserMessageAtMs;
  }

  const inside = windowStartMs !== undefined && nowMs < windowStartMs + FIRST_MESSAGE_WINDOW_MS;
  if (!inside && messagingType !== 'MESSAGE_TAG') {
    return refuse(
      409,
      'outside_24h_window',
      `More than 24 h since the person's last message: only MESSAGE_TAG with an approved tag may be sent, not ${messagingType}.`,
    );
  }
  const psid = request.to.psid ?? state.psid;
  return {
    ok: true,
    pageId,
    // Once the person has written, their PSID is the address; before, the login_id is.
    recipient: psid !== undefined ? { id: psid } : { login_id: request.to.loginId as string },
    messagingType,
    ...(request.tag ? { tag: request.tag } : {}),
  };
}
