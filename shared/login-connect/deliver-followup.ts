import type { SendMessage } from '../graph/ports';
import type { FollowupJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type { MessageClaim, MessageEndStatus, MessageStore } from '../store/message-store';
import type { PersonStore } from '../store/person-store';
import { failureNames, suppressNotReceiving } from './after-failure';
import {
  type AfterSendDeps,
  type AttemptResult,
  afterSend,
  afterTakeover,
  endAbandoned,
  type JobContext,
  waitForPage,
} from './after-send';
import { checkFollowup, type FollowupOptions } from './followup-policy';
import type { PageGate } from './page-state';
import { REASON } from './reasons';
import { visibilitySeconds } from './retry';
import { FIRST_MESSAGE_WINDOW_MS } from './window';

export interface FollowupDeps extends AfterSendDeps {
  messages: MessageStore;
  people: PersonStore;
  secrets: () => Promise<AppSecrets>;
  send: SendMessage;
  leaseMs: number;
  followupOptions: FollowupOptions;
}

export type FollowupResult =
  | AttemptResult<MessageEndStatus>
  | { result: 'skipped'; reason: string };

/** How a failed attempt ends or delays a follow-up; the Page's own failures never end it. */
const FAILURE_NAMES = failureNames<MessageEndStatus>({
  gaveUp: () => REASON.gaveUpRetrying,
  windowClosed: { status: 'failed', reason: REASON.sendApiWindowClosed },
});

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
  if (claimed.outcome === 'abandoned')
    return endAbandoned((reason) => deps.messages.abandon(job.id, claimed.owner, reason, now));
  if (claimed.outcome === 'done') return { result: 'skipped', reason: `already ${claimed.status}` };
  if (claimed.outcome === 'busy')
    return {
      result: 'retry',
      delaySeconds: visibilitySeconds(claimed.untilMs - now),
      reason: 'busy',
    };

  return afterTakeover(claimed.takeover, await attempt(claimed.claim, deps, now, context));
}

async function attempt(
  claim: MessageClaim,
  deps: FollowupDeps,
  now: number,
  context: JobContext,
): Promise<AttemptResult<MessageEndStatus>> {
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
  if (gate.kind === 'paused' && deps.pages)
    return waitForPage<never>({
      pages: deps.pages,
      gate,
      nowMs: now,
      context,
      giveUpAtMs,
      ...(deps.random ? { random: deps.random } : {}),
      hold: async (untilMs) => {
        await deps.messages.deferClaim(claim, untilMs, now);
        return undefined;
      },
    });

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
  return afterSend({
    outcome,
    nowMs: after,
    deps,
    page: { pageId: decision.pageId, accessToken, gate },
    record: (sent) =>
      deps.messages.markSent(claim, { pageId: decision.pageId, ...sent }, deps.now()),
    handOver: (sent) => ({
      v: 1,
      kind: 'sent',
      target: 'followup',
      id: claim.id,
      owner: claim.owner,
      pageId: decision.pageId,
      ...sent,
      sentAt: after,
    }),
    leaseUntilMs: claim.leaseUntilMs,
    attemptNumber: () => claim.message.attempts,
    giveUpAtMs,
    names: FAILURE_NAMES,
    retry: (failure, retryAtMs) => deps.messages.markRetry(claim, failure, retryAtMs, after),
    finish: async (end, failure, ending) => {
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
