import type { SendMessage } from '../graph/ports';
import type { FollowupJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type { MessageClaim, MessageEndStatus, MessageStore } from '../store/message-store';
import type { AttemptError } from '../store/optin-store';
import type { PersonStore } from '../store/person-store';
import { afterFailure, type FailureNames, suppressNotReceiving } from './after-failure';
import type { JobContext, UnknownOutcome } from './deliver';
import { checkFollowup, type FollowupOptions } from './followup-policy';
import type { PageEvent, PageHealth } from './page-health';
import { deferSeconds, type PageGate } from './page-state';
import { pagePausedReason, REASON } from './reasons';
import { type RecordResult, type RecordSendDeps, recordOrHandOver } from './record-send';
import { type RetryPolicy, visibilitySeconds } from './retry';
import {
  classifySendFailure,
  type PagePauseReason,
  type UnknownOutcomePolicy,
} from './send-errors';
import { FIRST_MESSAGE_WINDOW_MS } from './window';

export interface FollowupDeps extends RecordSendDeps {
  messages: MessageStore;
  people: PersonStore;
  secrets: () => Promise<AppSecrets>;
  send: SendMessage;
  retryPolicy: RetryPolicy;
  leaseMs: number;
  unknownOutcome: UnknownOutcomePolicy;
  followupOptions: FollowupOptions;
  /** Each Page's health (see `DeliverDeps.pages`). */
  pages?: PageHealth;
}

export type FollowupResult =
  | {
      result: 'sent';
      messageId?: string;
      record: RecordResult;
      recordTries: number;
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
    }
  | {
      result: 'ended';
      status: MessageEndStatus;
      reason: string;
      failure?: AttemptError;
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
    }
  | { result: 'skipped'; reason: string }
  | {
      result: 'retry';
      delaySeconds: number;
      reason: string;
      failure?: AttemptError;
      unknownOutcome?: UnknownOutcome;
      page?: PageEvent;
      /** Set when the message waits for its paused Page, without an attempt. */
      pagePaused?: PagePauseReason;
    };

/** How a failed attempt ends or delays a follow-up; the Page's own failures never end it. */
const FAILURE_NAMES: FailureNames<MessageEndStatus> = {
  noAnswer: REASON.sendApiNoAnswer,
  transient: 'transient_send_error',
  gaveUp: () => REASON.gaveUpRetrying,
  end: {
    window_closed: { status: 'failed', reason: REASON.sendApiWindowClosed },
    opted_out: { status: 'opted_out', reason: REASON.sendApiNotReceiving },
    permanent: { status: 'failed', reason: REASON.sendApiRejected },
  },
};

/**
 * Sends one follow-up message, exactly once, after checking the rules again: an opt-out, a Page
 * lock or a closed window that happened while it waited in the queue stops it.
 */
export async function deliverFollowup(
  job: FollowupJob,
  deps: FollowupDeps,
  context: JobContext = {},
): Promise<FollowupResult> {
  const now = deps.now();
  const claimed = await deps.messages.claim(job.id, now, deps.leaseMs, {
    takeover: deps.unknownOutcome === 'retry',
  });
  if (claimed.outcome === 'missing') return { result: 'skipped', reason: 'no such message' };
  if (claimed.outcome === 'abandoned') {
    // `hold`: an earlier attempt may have sent; never risk a second message.
    const reason = REASON.previousAttemptOutcomeUnknown;
    if (await deps.messages.abandon(job.id, claimed.owner, reason, now))
      return { result: 'ended', status: 'unknown', reason, unknownOutcome: 'lease_expired' };
    return { result: 'retry', delaySeconds: 1, reason: 'busy' };
  }
  if (claimed.outcome === 'done') return { result: 'skipped', reason: `already ${claimed.status}` };
  if (claimed.outcome === 'busy')
    return {
      result: 'retry',
      delaySeconds: visibilitySeconds(claimed.untilMs - now),
      reason: 'busy',
    };

  const result = await attempt(claimed.claim, deps, now, context);
  return claimed.takeover && result.unknownOutcome === undefined
    ? { ...result, unknownOutcome: 'lease_expired' }
    : result;
}

async function attempt(
  claim: MessageClaim,
  deps: FollowupDeps,
  now: number,
  context: JobContext,
): Promise<Exclude<FollowupResult, { result: 'skipped' }>> {
  const message = claim.message;
  const decision = checkFollowup(
    {
      to: message.to,
      messagingType: message.messagingType,
      ...(message.tag ? { tag: message.tag } : {}),
    },
    await deps.people.recipientState(message.to),
    now,
    deps.followupOptions,
  );
  if (!decision.ok) {
    const status = decision.rule === 'opted_out' ? 'opted_out' : 'failed';
    await deps.messages.finish(claim, { status, reason: decision.rule }, now);
    return { result: 'ended', status, reason: decision.rule };
  }
  const secrets = await deps.secrets();
  const accessToken = secrets.pages[decision.pageId]?.accessToken;
  if (accessToken === undefined) {
    await deps.messages.finish(claim, { status: 'failed', reason: REASON.pageNotConfigured }, now);
    return { result: 'ended', status: 'failed', reason: REASON.pageNotConfigured };
  }
  // A follow-up is retried for a day at most; the rules are checked again each time.
  const giveUpAtMs = Date.parse(message.createdAt) + FIRST_MESSAGE_WINDOW_MS;

  // A paused Page's messages wait, their claim given back without counting an attempt.
  const gate: PageGate = deps.pages
    ? await deps.pages.gate(decision.pageId, accessToken, now)
    : { kind: 'open' };
  if (gate.kind === 'paused' && deps.pages) {
    const delaySeconds = deferSeconds({
      untilMs: gate.untilMs,
      nowMs: now,
      receiveCount: context.receiveCount ?? 1,
      windowEndsAtMs: giveUpAtMs,
      options: deps.pages.options,
      ...(deps.random ? { random: deps.random } : {}),
    });
    await deps.messages.deferClaim(claim, now + delaySeconds * 1000, now);
    return {
      result: 'retry',
      delaySeconds,
      reason: pagePausedReason(gate.reason),
      pagePaused: gate.reason,
    };
  }

  const outcome = await deps.send({
    accessToken,
    appSecret: secrets.appSecret,
    body: {
      recipient: decision.recipient,
      messaging_type: decision.messagingType,
      message: message.message,
      ...(decision.tag ? { tag: decision.tag } : {}),
    },
  });
  const after = deps.now();
  if (outcome.ok) {
    const sent = {
      pageId: decision.pageId,
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      ...(outcome.recipientId !== undefined ? { recipientId: outcome.recipientId } : {}),
    };
    // From here on the message is out: nothing may send it again, whatever the table says.
    const recorded = await recordOrHandOver(
      () => deps.messages.markSent(claim, sent, deps.now()),
      () => ({
        v: 1,
        kind: 'sent',
        target: 'followup',
        id: claim.id,
        owner: claim.owner,
        ...sent,
        sentAt: after,
      }),
      claim.leaseUntilMs,
      deps,
    );
    const page = await deps.pages?.afterAttempt({
      pageId: decision.pageId,
      accessToken,
      gate,
      outcome,
      nowMs: deps.now(),
    });
    return {
      result: 'sent',
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      record: recorded.result,
      recordTries: recorded.tries,
      ...(page ? { page } : {}),
    };
  }

  const kind = classifySendFailure(outcome.failure);
  const failure: AttemptError = { ...outcome.failure, kind, attempt: claim.message.attempts };
  const page = await deps.pages?.afterAttempt({
    pageId: decision.pageId,
    accessToken,
    gate,
    outcome,
    nowMs: after,
  });
  return afterFailure({
    failure,
    page,
    nowMs: after,
    giveUpAtMs,
    deps,
    names: FAILURE_NAMES,
    retry: (retryAtMs) => deps.messages.markRetry(claim, failure, retryAtMs, after),
    finish: async (end, ending) => {
      await deps.messages.finish(claim, { ...end, error: failure }, after);
      if (ending !== 'opted_out') return;
      // Facebook says the person is not receiving: suppress them, and every linked identifier.
      const person =
        message.to.loginId !== undefined
          ? { kind: 'login' as const, id: message.to.loginId }
          : { kind: 'psid' as const, id: message.to.psid as string };
      await suppressNotReceiving(deps.people, person, end.reason, failure, after);
    },
  });
}
