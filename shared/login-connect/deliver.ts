import type { SendApiBody, SendMessage } from '../graph/ports';
import type { OptinJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type {
  AttemptError,
  Claim,
  OptinRef,
  OptinStore,
  SettleResult,
  TerminalStatus,
} from '../store/optin-store';
import { afterFailure, type FailureNames } from './after-failure';
import { type FirstMessages, type FirstMessageTemplate, templateFor } from './first-message';
import type { PageEvent, PageHealth } from './page-health';
import { deferSeconds, type PageGate } from './page-state';
import { lockedToPageReason, pagePausedReason, REASON, suppressedReason } from './reasons';
import { type RecordResult, type RecordSendDeps, recordOrHandOver } from './record-send';
import { type RetryPolicy, visibilitySeconds } from './retry';
import {
  classifySendFailure,
  type PagePauseReason,
  type UnknownOutcomePolicy,
} from './send-errors';
import { TOMBSTONE_DAYS, tombstoneId } from './tombstone';
import { isInsideWindow, windowEndsAt } from './window';

export interface DeliverDeps extends RecordSendDeps {
  store: OptinStore;
  secrets: () => Promise<AppSecrets>;
  firstMessages: FirstMessages;
  send: SendMessage;
  retryPolicy: RetryPolicy;
  /** How long a claim keeps others away; must outlive the attempt (see SEND_LEASE_SECONDS). */
  leaseMs: number;
  /** What an attempt whose outcome is unknown leads to (see `UnknownOutcomePolicy`). */
  unknownOutcome: UnknownOutcomePolicy;
  /**
   * Each Page's health. With it, a paused Page's jobs wait (queue visibility) without an attempt,
   * and failures that are the Page's pause it; without it, those failures are simply retried.
   */
  pages?: PageHealth;
}

/** What the queue says of the job being processed. */
export interface JobContext {
  /** How many times SQS handed this message out, this time included. */
  receiveCount?: number;
}

/**
 * Why an attempt's outcome is unknown: Graph gave no answer, or an earlier attempt's lease ran out
 * (its process died or stalled, maybe after Graph accepted the message).
 */
export type UnknownOutcome = 'send_api_no_answer' | 'lease_expired';

/** What became of one opt-in job. */
export type DeliverResult =
  | {
      result: 'sent';
      messageId?: string;
      latencyMs: number;
      /** `already_sent`: another attempt recorded a send first, so two went out. */
      record: RecordResult;
      recordTries: number;
      /** Set when this attempt took over one whose outcome was unknown. */
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
    }
  | {
      result: 'ended';
      status: Exclude<TerminalStatus, 'sent'>;
      reason: string;
      failure?: AttemptError;
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
    }
  /** Nothing to do: the opt-in had already ended, or the job contradicts the record. */
  | { result: 'skipped'; reason: string; status?: TerminalStatus }
  /** Try this job again in `delaySeconds` (set as the queue message's visibility). */
  | {
      result: 'retry';
      delaySeconds: number;
      reason: string;
      failure?: AttemptError;
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
      /** Set when the job waits for its paused Page, without an attempt. */
      pagePaused?: PagePauseReason;
    };

/** The Send API request for a first message: always to `recipient.login_id`, never tagged. */
export function firstMessageBody(loginId: string, template: FirstMessageTemplate): SendApiBody {
  return {
    recipient: { login_id: loginId },
    messaging_type: template.messagingType,
    message: template.message as Record<string, unknown>,
    ...(template.notificationType !== undefined
      ? { notification_type: template.notificationType }
      : {}),
  };
}

/** Why an opt-in whose window closed while its Page was paused ended. */
export const WINDOW_CLOSED_PAGE_PAUSED = REASON.windowClosedWhilePagePaused;

/** How a failed attempt ends or delays the opt-in; the Page's own failures never end it. */
const FAILURE_NAMES: FailureNames<Exclude<TerminalStatus, 'sent'>> = {
  noAnswer: REASON.sendApiNoAnswer,
  transient: 'transient_send_error',
  gaveUp: (problem) =>
    problem !== undefined ? WINDOW_CLOSED_PAGE_PAUSED : REASON.windowClosedWhileRetrying,
  end: {
    window_closed: { status: 'expired', reason: REASON.sendApiWindowClosed },
    opted_out: { status: 'opted_out', reason: REASON.sendApiNotReceiving },
    permanent: { status: 'failed', reason: REASON.sendApiRejected },
  },
};

/**
 * Delivers the first message of one Login Connect opt-in, under Facebook's rules: only inside
 * 24 h of the opt-in, never tagged, exactly once per `login_id`, only through the locked Page,
 * never to someone suppressed. Safe to call any number of times for the same opt-in, concurrently.
 */
export async function deliverFirstMessage(
  job: OptinJob,
  deps: DeliverDeps,
  context: JobContext = {},
): Promise<DeliverResult> {
  const secrets = await deps.secrets();
  const optin: OptinRef = {
    loginId: job.loginId,
    pageId: job.pageId,
    optinAtMs: job.optinAt,
    receivedAtMs: job.receivedAt,
    source: job.source,
    tombstone: tombstoneId({ kind: 'login', id: job.loginId }, secrets),
  };
  const startedAt = deps.now();

  // Older than any tombstone lives: the person may have been deleted since; keep nothing.
  if (startedAt - optin.optinAtMs > TOMBSTONE_DAYS * 86_400_000)
    return { result: 'skipped', reason: 'older_than_any_record' };
  if (!isInsideWindow(optin.optinAtMs, startedAt)) {
    const paused = (await deps.pages?.read(optin.pageId, startedAt))?.pausedReason;
    return settle(
      deps,
      optin,
      {
        status: 'expired',
        reason: paused ? WINDOW_CLOSED_PAGE_PAUSED : REASON.windowClosedBeforeFirstAttempt,
      },
      startedAt,
    );
  }
  const accessToken = secrets.pages[optin.pageId]?.accessToken;
  if (accessToken === undefined) {
    return settle(deps, optin, { status: 'failed', reason: REASON.pageNotConfigured }, startedAt);
  }

  // A paused Page's jobs wait without an attempt; one of them probes once the back-off passed.
  const gate: PageGate = deps.pages
    ? await deps.pages.gate(optin.pageId, accessToken, startedAt)
    : { kind: 'open' };
  if (gate.kind === 'paused') return waitForPage(deps, optin, gate, startedAt, context);

  const claimed = await deps.store.claim(optin, startedAt, deps.leaseMs, {
    takeover: deps.unknownOutcome === 'retry',
  });
  // A probe right no attempt will use goes back at once, for another job to take.
  if (claimed.outcome !== 'claimed') await deps.pages?.release(optin.pageId, gate, startedAt);
  switch (claimed.outcome) {
    case 'done':
      return { result: 'skipped', reason: 'already_ended', status: claimed.status };
    case 'conflict':
      return { result: 'skipped', reason: `record_belongs_to_page_${claimed.storedPageId}` };
    case 'deleted':
      return { result: 'skipped', reason: 'person_deleted' };
    case 'busy':
      return {
        result: 'retry',
        delaySeconds: visibilitySeconds(claimed.untilMs - startedAt),
        reason: 'busy',
      };
    case 'expired':
      return settle(deps, optin, { status: 'expired', reason: REASON.windowClosed }, startedAt);
    case 'suppressed':
      return settle(
        deps,
        optin,
        { status: 'opted_out', reason: suppressedReason(claimed.reason) },
        startedAt,
      );
    case 'locked':
      return settle(
        deps,
        optin,
        { status: 'page_locked', reason: lockedToPageReason(claimed.lockedPageId) },
        startedAt,
      );
    case 'abandoned': {
      // `hold`: an earlier attempt may have sent; never risk a second message.
      const reason = REASON.previousAttemptOutcomeUnknown;
      if (await deps.store.abandon(optin.loginId, claimed.owner, reason, startedAt))
        return { result: 'ended', status: 'unknown', reason, unknownOutcome: 'lease_expired' };
      return { result: 'retry', delaySeconds: 1, reason: 'busy' };
    }
    case 'claimed': {
      const result = await attempt(deps, optin, claimed.claim, secrets, accessToken, gate);
      return claimed.takeover && result.unknownOutcome === undefined
        ? { ...result, unknownOutcome: 'lease_expired' }
        : result;
    }
  }
}

/**
 * A job of a paused Page: hidden in the queue until the Page's next probe (see `deferSeconds`),
 * without a claim or an attempt. Unless the pause is a short rate limit, the opt-in is also
 * recorded as waiting (`park`), so an operator sees it `pending` and the sweeper has it if the
 * queue message is lost.
 */
async function waitForPage(
  deps: DeliverDeps,
  optin: OptinRef,
  gate: Extract<PageGate, { kind: 'paused' }>,
  nowMs: number,
  context: JobContext,
): Promise<DeliverResult> {
  const pages = deps.pages as PageHealth;
  const delaySeconds = deferSeconds({
    untilMs: gate.untilMs,
    nowMs,
    receiveCount: context.receiveCount ?? 1,
    windowEndsAtMs: windowEndsAt(optin.optinAtMs),
    options: pages.options,
    ...(deps.random ? { random: deps.random } : {}),
  });
  if (gate.reason !== 'rate_limited') {
    const parked = await deps.store.park(
      optin,
      nowMs + delaySeconds * 1000,
      pagePausedReason(gate.reason),
      nowMs,
    );
    if (parked.outcome === 'done')
      return { result: 'skipped', reason: 'already_ended', status: parked.status };
    if (parked.outcome === 'deleted') return { result: 'skipped', reason: 'person_deleted' };
    if (parked.outcome === 'conflict')
      return { result: 'skipped', reason: `record_belongs_to_page_${parked.storedPageId}` };
  }
  return {
    result: 'retry',
    delaySeconds,
    reason: pagePausedReason(gate.reason),
    pagePaused: gate.reason,
  };
}

async function attempt(
  deps: DeliverDeps,
  optin: OptinRef,
  claim: Claim,
  secrets: AppSecrets,
  accessToken: string,
  gate: PageGate,
): Promise<Exclude<DeliverResult, { result: 'skipped' }>> {
  const template = templateFor(deps.firstMessages, optin.pageId);
  const outcome = await deps.send({
    accessToken,
    appSecret: secrets.appSecret,
    body: firstMessageBody(optin.loginId, template),
  });
  const now = deps.now();

  if (outcome.ok) {
    const sent = {
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      ...(outcome.recipientId !== undefined ? { recipientId: outcome.recipientId } : {}),
    };
    // From here on the message is out: nothing may send it again, whatever the table says.
    const recorded = await recordOrHandOver(
      () => deps.store.markSent(claim, sent, deps.now()),
      () => ({
        v: 1,
        kind: 'sent',
        target: 'optin',
        id: claim.loginId,
        pageId: claim.pageId,
        owner: claim.owner,
        ...sent,
        sentAt: now,
        optinAt: optin.optinAtMs,
      }),
      claim.leaseUntilMs,
      deps,
    );
    // Only a probe writes here (the Page resumes); an open Page's send writes nothing more.
    const page = await deps.pages?.afterAttempt({
      pageId: optin.pageId,
      accessToken,
      gate,
      outcome,
      nowMs: deps.now(),
    });
    return {
      result: 'sent',
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      latencyMs: now - optin.optinAtMs,
      record: recorded.result,
      recordTries: recorded.tries,
      ...(page ? { page } : {}),
    };
  }

  const kind = classifySendFailure(outcome.failure);
  const failure: AttemptError = {
    ...outcome.failure,
    kind,
    attempt: await deps.store.attempts(claim),
  };
  const page = await deps.pages?.afterAttempt({
    pageId: optin.pageId,
    accessToken,
    gate,
    outcome,
    nowMs: now,
  });
  return afterFailure({
    failure,
    page,
    nowMs: now,
    giveUpAtMs: windowEndsAt(optin.optinAtMs),
    deps,
    names: FAILURE_NAMES,
    retry: (retryAtMs) => deps.store.markRetry(claim, failure, retryAtMs, now),
    // Facebook says the person is not receiving: their suppression is written with the end.
    finish: (end, ending) =>
      deps.store.finish(
        claim,
        { ...end, error: failure, ...(ending ? { suppress: ending === 'opted_out' } : {}) },
        now,
      ),
  });
}

async function settle(
  deps: DeliverDeps,
  optin: OptinRef,
  end: { status: Exclude<TerminalStatus, 'sent'>; reason: string },
  nowMs: number,
): Promise<DeliverResult> {
  const settled: SettleResult = await deps.store.settle(optin, end, nowMs);
  switch (settled.outcome) {
    case 'recorded':
      return { result: 'ended', ...end };
    case 'done':
      return { result: 'skipped', reason: 'already_ended', status: settled.status };
    case 'deleted':
      return { result: 'skipped', reason: 'person_deleted' };
    case 'busy':
      return {
        result: 'retry',
        delaySeconds: visibilitySeconds(settled.untilMs - nowMs),
        reason: 'busy',
      };
  }
}
