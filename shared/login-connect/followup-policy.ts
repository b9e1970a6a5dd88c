import { tagInForce, tagsInForce } from './message-tags';
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

/** What the deployment may do beyond the defaults (stack settings). */
export interface FollowupOptions {
  /** The app was granted the Human Agent feature (stack setting `humanAgentEnabled`). */
  humanAgentEnabled: boolean;
}

/**
 * Whether a follow-up message may be sent, and how: Messenger's rules after the first message, as
 * they stand today (see `MESSAGE_TAGS` for the dated tag rules). Checked when the message is
 * accepted and again right before it is sent.
 *  - Nobody who opted out gets anything.
 *  - A `login_id`'s first message comes first (and it is never tagged), and the Page lock holds.
 *  - Login Connect grants one message until the conversation starts: before the person has ever
 *    written, a `login_id` gets its first message and nothing more, tagged or not.
 *  - `RESPONSE` (a reply) and `UPDATE` (proactive) only inside 24 h of the person's own last
 *    message. Outside, only `MESSAGE_TAG` with a tag in force: today `HUMAN_AGENT`, within 7 days
 *    of that message, written by a person, for apps granted the feature.
 */
export function checkFollowup(
  request: { to: Recipient; messagingType?: MessagingType; tag?: string },
  state: RecipientState,
  nowMs: number,
  options: FollowupOptions = { humanAgentEnabled: false },
): PolicyDecision {
  const messagingType: MessagingType =
    request.messagingType ?? (request.tag ? 'MESSAGE_TAG' : 'UPDATE');
  if (messagingType === 'MESSAGE_TAG' && !request.tag) {
    return refuse(
      400,
      'tag_required',
      `MESSAGE_TAG needs a tag; in force today: ${tagsInForce(nowMs).join(', ')}.`,
    );
  }
  if (messagingType !== 'MESSAGE_TAG' && request.tag) {
    return refuse(
      400,
      'tag_needs_message_tag',
      `A tag can only be sent with messagingType MESSAGE_TAG, not ${messagingType}.`,
    );
  }
  const tag = request.tag ? tagInForce(request.tag, nowMs) : undefined;
  if (tag && !tag.ok) return refuse(400, tag.rule, tag.message);
  if (tag?.ok && tag.rule.requires === 'human_agent' && !options.humanAgentEnabled) {
    return refuse(
      409,
      'human_agent_not_enabled',
      'HUMAN_AGENT needs the Human Agent feature, granted through App Review; set humanAgentEnabled (HUMAN_AGENT_ENABLED locally) once Meta granted it.',
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
  } else {
    if (!state.profile)
      return refuse(404, 'unknown_psid', 'This PSID has never written to a Page of ours.');
    pageId = state.profile.pageId;
  }

  // Every window counts from the person's own last message, never from the opt-in.
  const lastMessageMs = state.profile?.lastUserMessageAtMs;
  if (lastMessageMs === undefined) {
    return refuse(
      409,
      'conversation_not_started',
      'The person has not written yet: Login Connect allows one first message until the conversation starts, and nothing more (tagged or not).',
    );
  }
  const sinceMs = nowMs - lastMessageMs;
  if (messagingType !== 'MESSAGE_TAG') {
    if (sinceMs >= FIRST_MESSAGE_WINDOW_MS)
      return refuse(
        409,
        'outside_24h_window',
        `More than 24 h since the person's last message: ${messagingType} is not allowed; only MESSAGE_TAG with a tag in force (${tagsInForce(nowMs).join(', ')}).`,
      );
  } else if (tag?.ok) {
    if (sinceMs < FIRST_MESSAGE_WINDOW_MS)
      return refuse(
        409,
        'tag_not_needed',
        `Inside 24 h of the person's last message a tag is not needed and must not be used: send RESPONSE (a reply) or UPDATE, untagged.`,
      );
    if (tag.rule.windowMs !== undefined && sinceMs >= tag.rule.windowMs)
      return refuse(
        409,
        'outside_tag_window',
        `${tag.rule.tag} may be sent up to ${tag.rule.windowMs / 86_400_000} days after the person's last message; it has been longer.`,
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
