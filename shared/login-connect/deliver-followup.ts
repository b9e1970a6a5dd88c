import type { SendMessage } from '../graph/send-api';
import type { FollowupJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type { MessageStore } from '../store/message-store';
import type { AttemptError } from '../store/optin-store';
import type { PersonStore } from '../store/person-store';
import { checkFollowup } from './followup-policy';
import { planRetry, type RetryPolicy, visibilitySeconds } from './retry';
import { classifySendFailure } from './send-errors';
import { FIRST_MESSAGE_WINDOW_MS } from './window';

export interface FollowupDeps {
  messages: MessageStore;
  people: PersonStore;
  secrets: () => Promise<AppSecrets>;
  send: SendMessage;
  retryPolicy: RetryPolicy;
  leaseMs: number;
  now: () => number;
  random?: () => number;
}

export type FollowupResult =
  | { result: 'sent'; messageId?: string }
  | {
      result: 'ended';
      status: 'failed' | 'opted_out' | 'expired';
      reason: string;
      failure?: AttemptError;
    }
  | { result: 'skipped'; reason: string }
  | { result: 'retry'; delaySeconds: number; reason: string; failure?: AttemptError };

/**
 * Sends one follow-up message, exactly once, after checking the rules again: an opt-out, a Page
 * lock or a closed window that happened while it waited in the queue stops it.
 */
export async function deliverFollowup(
  job: FollowupJob,
  deps: FollowupDeps,
): Promise<FollowupResult> {
  const now = deps.now();
  const claimed = await deps.messages.claim(job.id, now, deps.leaseMs);
  if (claimed.outcome === 'missing') return { result: 'skipped', reason: 'no such message' };
  if (claimed.outcome === 'done') return { result: 'skipped', reason: `already ${claimed.status}` };
  if (claimed.outcome === 'busy')
    return {
      result: 'retry',
      delaySeconds: visibilitySeconds(claimed.untilMs - now),
      reason: 'busy',
    };

  const { claim } = claimed;
  const message = claim.message;
  const decision = checkFollowup(
    {
      to: message.to,
      messagingType: message.messagingType,
      ...(message.tag ? { tag: message.tag } : {}),
    },
    await deps.people.recipientState(message.to),
    now,
  );
  if (!decision.ok) {
    const status = decision.rule === 'opted_out' ? 'opted_out' : 'failed';
    await deps.messages.finish(claim, { status, reason: decision.rule }, now);
    return { result: 'ended', status, reason: decision.rule };
  }
  const secrets = await deps.secrets();
  const accessToken = secrets.pages[decision.pageId]?.accessToken;
  if (accessToken === undefined) {
    await deps.messages.finish(claim, { status: 'failed', reason: 'page_not_configured' }, now);
    return { result: 'ended', status: 'failed', reason: 'page_not_configured' };
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
    await deps.messages.markSent(
      claim,
      {
        pageId: decision.pageId,
        ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
        ...(outcome.recipientId !== undefined ? { recipientId: outcome.recipientId } : {}),
      },
      after,
    );
    return {
      result: 'sent',
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
    };
  }

  const kind = classifySendFailure(outcome.failure);
  const failure: AttemptError = { ...outcome.failure, kind, attempt: claim.message.attempts };
  if (kind === 'transient') {
    // A follow-up is worth retrying for a day at most; the rules are checked again each time.
    const plan = planRetry({
      attempt: failure.attempt,
      nowMs: after,
      windowEndsAtMs: Date.parse(message.createdAt) + FIRST_MESSAGE_WINDOW_MS,
      policy: deps.retryPolicy,
      ...(deps.random ? { random: deps.random } : {}),
    });
    if (plan.retry) {
      await deps.messages.markRetry(claim, failure, plan.retryAtMs, after);
      return {
        result: 'retry',
        delaySeconds: plan.delaySeconds,
        reason: 'transient_send_error',
        failure,
      };
    }
    await deps.messages.finish(
      claim,
      { status: 'expired', reason: 'gave_up_retrying', error: failure },
      after,
    );
    return { result: 'ended', status: 'expired', reason: 'gave_up_retrying', failure };
  }
  if (kind === 'opted_out') {
    await deps.messages.finish(
      claim,
      { status: 'opted_out', reason: 'send_api_not_receiving', error: failure },
      after,
    );
    const person =
      message.to.loginId !== undefined
        ? { kind: 'login' as const, id: message.to.loginId }
        : { kind: 'psid' as const, id: message.to.psid as string };
    await deps.people.suppress(
      person,
      {
        source: 'send_api',
        reason: 'send_api_not_receiving',
        ...(failure.code !== undefined ? { code: failure.code } : {}),
        ...(failure.subcode !== undefined ? { subcode: failure.subcode } : {}),
      },
      after,
    );
    return { result: 'ended', status: 'opted_out', reason: 'send_api_not_receiving', failure };
  }
  const reason =
    kind === 'window_closed'
      ? 'send_api_window_closed'
      : kind === 'token_invalid'
        ? 'page_token_invalid'
        : 'send_api_rejected';
  await deps.messages.finish(claim, { status: 'failed', reason, error: failure }, after);
  return { result: 'ended', status: 'failed', reason, failure };
}
