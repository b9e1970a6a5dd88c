import type { PagePauseReason } from './send-errors';

/**
 * Why a record ended or waits, as the sender writes it: an opt-in's `statusReason`, a follow-up's
 * `reason`, and the `page_paused:<reason>` an opt-in waits for (`waitingFor`). The producers
 * (`deliver`, `deliver-followup`, `sweep`) write these constants; `lcm inspect` explains them with
 * `explainReason`. One place for both, so a new reason cannot go out unexplained (a unit test
 * checks every code and every producer).
 *
 * The reasons a job is skipped or retried (`busy`, `already_ended`, `person_deleted`, …) go to the
 * logs only, never to a record, and are not listed here.
 */
export const REASON = {
  /** expired: the job reached the sender after the 24 h window had closed. */
  windowClosedBeforeFirstAttempt: 'window_closed_before_first_attempt',
  /** expired: the sweeper found it unattended after its window had closed. */
  windowClosedUnattended: 'window_closed_unattended',
  /** expired: its Page stayed paused until the window closed. */
  windowClosedWhilePagePaused: 'window_closed_while_page_paused',
  /** expired: transient failures until the window closed. */
  windowClosedWhileRetrying: 'window_closed_while_retrying',
  /** expired: the claim found the window closed. */
  windowClosed: 'window_closed',
  /** expired (opt-in) or failed (follow-up): Graph said the window closed (10/2018278). */
  sendApiWindowClosed: 'send_api_window_closed',
  /** opted_out: Graph said the person is not receiving (551). */
  sendApiNotReceiving: 'send_api_not_receiving',
  /** failed: Graph refused the message for good. */
  sendApiRejected: 'send_api_rejected',
  /** unknown: Graph gave no answer (with `sendUnknownOutcome` "hold"). */
  sendApiNoAnswer: 'send_api_no_answer',
  /** unknown: an earlier attempt's lease ran out mid-send (with "hold"). */
  previousAttemptOutcomeUnknown: 'previous_attempt_outcome_unknown',
  /** failed: no token for the Page in the secret. */
  pageNotConfigured: 'page_not_configured',
  /** expired (follow-up): retried for a day without success. */
  gaveUpRetrying: 'gave_up_retrying',
} as const;

export type ReasonCode = (typeof REASON)[keyof typeof REASON];

/** Reasons with a value after the colon: `suppressed:<why>`, `locked_to_page:<id>`, `page_paused:<why>`. */
export const REASON_PREFIX = {
  /** opted_out: a suppression was in place before the send; after the colon, its reason. */
  suppressed: 'suppressed:',
  /** page_locked: an earlier first message used another Page; after the colon, that Page. */
  lockedToPage: 'locked_to_page:',
  /** Waiting (not ended): its Page is paused; after the colon, a `PagePauseReason`. */
  pagePaused: 'page_paused:',
} as const;

export const suppressedReason = (why: string) => `${REASON_PREFIX.suppressed}${why}`;
export const lockedToPageReason = (pageId: string) => `${REASON_PREFIX.lockedToPage}${pageId}`;
export const pagePausedReason = (why: PagePauseReason) => `${REASON_PREFIX.pagePaused}${why}`;

/** Written by versions before each Page's health (a 190 then failed the opt-in); still read. */
export const LEGACY_REASON = { pageTokenInvalid: 'page_token_invalid' } as const;

const SEE_PAGES = 'See npx lcm pages.';
const RESOLVE_BY_HAND =
  'with sendUnknownOutcome "hold" it is not sent again. Ask the person or check the Page inbox; resolve by hand (README, Exactly once).';

/** What each reason means and what to do, in a sentence (after the README's Operations table). */
export const REASON_EXPLANATION: Record<
  ReasonCode | (typeof LEGACY_REASON)[keyof typeof LEGACY_REASON],
  string
> = {
  window_closed_before_first_attempt:
    'the opt-in reached the sender after its 24 h window had closed (a late webhook or a long outage).',
  window_closed_unattended:
    'nothing was working on it and the sweeper found it after its window had closed (its queue message was lost or went to the DLQ).',
  window_closed_while_page_paused: `its Page stayed paused (restricted, token invalid or rate-limited) until the 24 h window closed. ${SEE_PAGES}`,
  window_closed_while_retrying:
    'Facebook kept answering with transient errors until the 24 h window closed: look at the errors (a long outage).',
  window_closed:
    'the 24 h window closed before a send succeeded; look at the errors (a long outage or a late webhook).',
  send_api_window_closed:
    'the Send API said the messaging window had closed (10/2018278): nothing can be sent now.',
  send_api_not_receiving:
    'the person turned off messages or blocked the Page (551): never message them.',
  send_api_rejected: 'the Send API refused the message for good: see the errors.',
  send_api_no_answer: `the Send API gave no answer, so the message may or may not have gone out; ${RESOLVE_BY_HAND}`,
  previous_attempt_outcome_unknown: `an earlier attempt died mid-send, so the message may or may not have gone out; ${RESOLVE_BY_HAND}`,
  page_not_configured: 'no token for that Page in the secret: add it under pages.',
  gave_up_retrying:
    'Facebook kept answering with transient errors for a day, so the sender gave up: look at the last error.',
  page_token_invalid: 'the Page token was revoked or expired: put a new token in the secret.',
};

/** What to do about a paused Page, by `PagePauseReason` (`lcm pages`, `lcm inspect`). */
export const PAGE_PAUSE_ADVICE: Record<PagePauseReason, string> = {
  page_restricted:
    'Meta restricted the Page from sending (10/1893063): see the Page Quality tab in Meta Business Suite; a probe retries after each back-off.',
  token_invalid:
    'put a new Page token under pages.<PAGE_ID>.accessToken in the secret; the sender probes with it as soon as it reads it.',
  rate_limited:
    "wait: Graph's estimated_time_to_regain_access (or the back-off) sets the next probe.",
};

const isExplained = (code: string): code is keyof typeof REASON_EXPLANATION =>
  Object.hasOwn(REASON_EXPLANATION, code);

/**
 * What a reason written to a record means, in a sentence; undefined for a code this version does
 * not know (a newer sender's, or free text).
 */
export function explainReason(reason: string): string | undefined {
  if (isExplained(reason)) return REASON_EXPLANATION[reason];
  if (reason.startsWith(REASON_PREFIX.suppressed))
    return `the person was suppressed before the send (${reason.slice(REASON_PREFIX.suppressed.length)}): never message them.`;
  if (reason.startsWith(REASON_PREFIX.lockedToPage))
    return `an earlier first message used another Page (${reason.slice(REASON_PREFIX.lockedToPage.length)}): send through the Page in LOCK.`;
  if (reason.startsWith(REASON_PREFIX.pagePaused))
    return `its Page is paused (${reason.slice(REASON_PREFIX.pagePaused.length)}): it waits, without attempts, and is sent once the Page can send again, while its window is open. ${SEE_PAGES}`;
  return undefined;
}

/**
 * What a follow-up's `reason` means. Besides the codes above, a follow-up can end with the rule
 * of Messenger's that refused it when it was due (`checkFollowup`'s `rule`, e.g.
 * `conversation_not_started`): the rules are checked again right before each send.
 */
export function explainFollowupReason(reason: string): string {
  return (
    explainReason(reason) ??
    `Messenger's rules refused it when it was due (${reason}): the same rule POST /messages gives when asked now.`
  );
}
