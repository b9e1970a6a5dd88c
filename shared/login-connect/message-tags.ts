/**
 * Messenger's Message Tags as they stand, with the dates they changed: what `POST /messages` and
 * the sender check, and what the Graph emulator enforces. One list, dated, with its sources, so a
 * rule that moves again is changed in one place.
 */
export interface TagRule {
  tag: string;
  /** First day (UTC, inclusive) the tag may be sent; absent: long-standing. */
  validFrom?: string;
  /** First day (UTC) the tag is no longer accepted; absent: still in force. */
  retiredOn?: string;
  /** How long after the person's own last message the tag may be used; absent: no limit. */
  windowMs?: number;
  /** A feature Meta grants through App Review, without which the tag is refused. */
  requires?: 'human_agent';
  source: string;
}

const DAY_MS = 86_400_000;
const RETIREMENT =
  'Meta retired it (announced February 2026, in force 27 April 2026); sends carrying it fail with error 100. Reported in chatwoot/chatwoot#14674 and emes30/facebook_messenger#9 (see shared/reference: messenger-platform.md 3.3)';

export const MESSAGE_TAGS: readonly TagRule[] = [
  { tag: 'ACCOUNT_UPDATE', retiredOn: '2026-04-27', source: RETIREMENT },
  { tag: 'POST_PURCHASE_UPDATE', retiredOn: '2026-04-27', source: RETIREMENT },
  { tag: 'CONFIRMED_EVENT_UPDATE', retiredOn: '2026-04-27', source: RETIREMENT },
  {
    tag: 'HUMAN_AGENT',
    windowMs: 7 * DAY_MS,
    requires: 'human_agent',
    source:
      'Messenger Platform, Message Tags: a reply written by a person, up to 7 days after the user’s last message, for apps granted the Human Agent feature (developers.facebook.com/docs/messenger-platform/send-messages/message-tags)',
  },
];

export type TagVerdict =
  | { ok: true; rule: TagRule }
  | { ok: false; rule: 'tag_unknown' | 'tag_retired'; message: string };

/** Whether `tag` may be sent at `nowMs` at all (its window and feature are checked by the policy). */
export function tagInForce(tag: string, nowMs: number): TagVerdict {
  const rule = MESSAGE_TAGS.find((r) => r.tag === tag);
  if (!rule)
    return {
      ok: false,
      rule: 'tag_unknown',
      message: `${tag} is not a Message Tag Messenger accepts. In force: ${tagsInForce(nowMs).join(', ') || 'none'}.`,
    };
  const day = new Date(nowMs).toISOString().slice(0, 10);
  if (rule.retiredOn !== undefined && day >= rule.retiredOn)
    return {
      ok: false,
      rule: 'tag_retired',
      message: `${tag} was retired on ${rule.retiredOn}: ${rule.source}.`,
    };
  if (rule.validFrom !== undefined && day < rule.validFrom)
    return { ok: false, rule: 'tag_unknown', message: `${tag} is valid from ${rule.validFrom}.` };
  return { ok: true, rule };
}

export function tagsInForce(nowMs: number): string[] {
  return MESSAGE_TAGS.filter((r) => tagInForce(r.tag, nowMs).ok).map((r) => r.tag);
}
