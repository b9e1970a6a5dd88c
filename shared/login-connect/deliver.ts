import type { SendApiBody, SendMessage } from '../graph/ports';
import type { OptinJob } from '../messages';
import type { AppSecrets } from '../secrets';
import type {
  Claim,
  OptinRef,
  OptinStore,
  SettleResult,
  TerminalStatus,
} from '../store/optin-store';
import { failureNames } from './after-failure';
import {
  type AfterSendDeps,
  afterSend,
  afterTakeover,
  type EndedResult,
  endAbandoned,
  type JobContext,
  type RetryResult,
  type SentResult,
  waitForPage,
} from './after-send';
import { type FirstMessages, type FirstMessageTemplate, templateFor } from './first-message';
import type { PageHealth } from './page-health';
import type { PageGate } from './page-state';
import { lockedToPageReason, pagePausedReason, REASON, suppressedReason } from './reasons';
import { visibilitySeconds } from './retry';
import { TOMBSTONE_DAYS, tombstoneId } from './tombstone';
import { isInsideWindow, windowEndsAt } from './window';

export interface DeliverDeps extends AfterSendDeps {
  store: OptinStore;
  secrets: () => Promise<AppSecrets>;
  firstMessages: FirstMessages;
  send: SendMessage;
  /** How long a claim keeps others away; must outlive the attempt (see SEND_LEASE_SECONDS). */
  leaseMs: number;
}

/** What became of one opt-in job. */
export type DeliverResult =
  | (SentResult & { latencyMs: number })
  | EndedResult<Exclude<TerminalStatus, 'sent'>>
  | RetryResult
  /** Nothing to do: the opt-in had already ended, or the job contradicts the record. */
  | { result: 'skipped'; reason: string; status?: TerminalStatus };

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
const FAILURE_NAMES = failureNames<Exclude<TerminalStatus, 'sent'>>({
  gaveUp: (problem) =>
    problem !== undefined ? WINDOW_CLOSED_PAGE_PAUSED : REASON.windowClosedWhileRetrying,
  windowClosed: { status: 'expired', reason: REASON.sendApiWindowClosed },
});

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
  if (gate.kind === 'paused') return waitForOptinPage(deps, optin, gate, startedAt, context);

  let claimed: Awaited<ReturnType<typeof deps.store.claim>>;
  try {
    claimed = await deps.store.claim(optin, startedAt, deps.leaseMs, {
      takeover: deps.unknownOutcome === 'retry',
    });
  } catch (error) {
    // The job comes back; its probe right goes back now, not when it runs out. (DynamoDB failing
    // the claim may fail this too: the claim's error is the one that counts.)
    await deps.pages?.release(optin.pageId, gate, startedAt).catch(() => undefined);
    throw error;
  }
  // A probe right no attempt will use goes back at once, for another job to take.
  if (claimed.outcome !== 'claimed') await deps.pages?.release(optin.pageId, gate, startedAt);
  switch (claimed.outcome) {
    case 'done':
    case 'conflict':
    case 'deleted':
    case 'busy':
      return nothingToDo(claimed, startedAt);
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
    case 'abandoned':
      return endAbandoned((reason) =>
        deps.store.abandon(optin.loginId, claimed.owner, reason, startedAt),
      );
    case 'claimed':
      return afterTakeover(
        claimed.takeover,
        await attempt(deps, optin, claimed.claim, secrets, accessToken, gate),
      );
  }
}

/**
 * A job of a paused Page waits in the queue without a claim or an attempt. Unless the pause is a
 * short rate limit, the opt-in is also recorded as waiting (`park`), so an operator sees it
 * `pending` and the sweeper has it if the queue message is lost.
 */
function waitForOptinPage(
  deps: DeliverDeps,
  optin: OptinRef,
  gate: Extract<PageGate, { kind: 'paused' }>,
  nowMs: number,
  context: JobContext,
): Promise<DeliverResult> {
  return waitForPage<DeliverResult>({
    pages: deps.pages as PageHealth,
    gate,
    nowMs,
    context,
    giveUpAtMs: windowEndsAt(optin.optinAtMs),
    ...(deps.random ? { random: deps.random } : {}),
    hold: async (untilMs) => {
      if (gate.reason === 'rate_limited') return undefined;
      const parked = await deps.store.park(optin, untilMs, pagePausedReason(gate.reason), nowMs);
      // Parked, or someone holds the lease: the job waits either way.
      if (parked.outcome === 'parked' || parked.outcome === 'busy') return undefined;
      return nothingToDo(parked, nowMs);
    },
  });
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
  const result = await afterSend({
    outcome,
    nowMs: now,
    deps,
    page: { pageId: optin.pageId, accessToken, gate },
    record: (sent) => deps.store.markSent(claim, sent, deps.now()),
    handOver: (sent) => ({
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
    leaseUntilMs: claim.leaseUntilMs,
    attemptNumber: () => deps.store.attempts(claim),
    giveUpAtMs: windowEndsAt(optin.optinAtMs),
    names: FAILURE_NAMES,
    retry: (failure, retryAtMs) => deps.store.markRetry(claim, failure, retryAtMs, now),
    // Facebook says the person is not receiving: their suppression is written with the end.
    finish: (end, failure, ending) =>
      deps.store.finish(
        claim,
        { ...end, error: failure, ...(ending ? { suppress: ending === 'opted_out' } : {}) },
        now,
      ),
  });
  return result.result === 'sent' ? { ...result, latencyMs: now - optin.optinAtMs } : result;
}

async function settle(
  deps: DeliverDeps,
  optin: OptinRef,
  end: { status: Exclude<TerminalStatus, 'sent'>; reason: string },
  nowMs: number,
): Promise<DeliverResult> {
  const settled: SettleResult = await deps.store.settle(optin, end, nowMs);
  return settled.outcome === 'recorded' ? { result: 'ended', ...end } : nothingToDo(settled, nowMs);
}

/**
 * The record leaves this job nothing to do: the opt-in ended, the person was deleted, the record
 * belongs to another Page, or someone else holds it until `untilMs` (come back then).
 */
function nothingToDo(
  found:
    | { outcome: 'done'; status: TerminalStatus }
    | { outcome: 'deleted' }
    | { outcome: 'conflict'; storedPageId: string }
    | { outcome: 'busy'; untilMs: number },
  nowMs: number,
): DeliverResult {
  switch (found.outcome) {
    case 'done':
      return { result: 'skipped', reason: 'already_ended', status: found.status };
    case 'deleted':
      return { result: 'skipped', reason: 'person_deleted' };
    case 'conflict':
      return { result: 'skipped', reason: `record_belongs_to_page_${found.storedPageId}` };
    case 'busy':
      return {
        result: 'retry',
        delaySeconds: visibilitySeconds(found.untilMs - nowMs),
        reason: 'busy',
      };
  }
}
