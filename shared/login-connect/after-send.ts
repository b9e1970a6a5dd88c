import type { SendOutcome } from '../graph/ports';
import type { SentJob } from '../messages';
import type { AttemptError, RecordOutcome } from '../store/optin-store';
import { afterFailure, type EndingKind, type FailureNames } from './after-failure';
import type { PageEvent, PageHealth } from './page-health';
import { deferSeconds, type PageGate } from './page-state';
import { pagePausedReason, REASON } from './reasons';
import { type RecordResult, type RecordSendDeps, recordOrHandOver } from './record-send';
import type { RetryPolicy } from './retry';
import {
  classifySendFailure,
  type PagePauseReason,
  type UnknownOutcomePolicy,
} from './send-errors';

/*
 * What happens once the Send API has answered, and while a Page is paused: the same for first
 * messages and follow-ups. Each caller keeps its own store calls and names; the order of the
 * steps (record before anything else once the message is out, the Page's health after) lives here.
 */

/**
 * Why an attempt's outcome is unknown: Graph gave no answer, or an earlier attempt's lease ran out
 * (its process died or stalled, maybe after Graph accepted the message).
 */
export type UnknownOutcome = 'send_api_no_answer' | 'lease_expired';

/** What the queue says of the job being processed. */
export interface JobContext {
  /** How many times SQS handed this message out, this time included. */
  receiveCount?: number;
}

/** The message went out (`record`: `already_sent` means another attempt recorded one first). */
export interface SentResult {
  result: 'sent';
  messageId?: string;
  record: RecordResult;
  recordTries: number;
  /** Set when this attempt took over one whose outcome was unknown. */
  unknownOutcome?: UnknownOutcome;
  page?: PageEvent;
}

/** The job ended without a message, with `status`. */
export interface EndedResult<Status extends string> {
  result: 'ended';
  status: Status;
  reason: string;
  failure?: AttemptError;
  unknownOutcome?: UnknownOutcome;
  page?: PageEvent;
}

/** Try this job again in `delaySeconds` (set as the queue message's visibility). */
export interface RetryResult {
  result: 'retry';
  delaySeconds: number;
  reason: string;
  failure?: AttemptError;
  unknownOutcome?: UnknownOutcome;
  page?: PageEvent;
  /** Set when the job waits for its paused Page, without an attempt. */
  pagePaused?: PagePauseReason;
}

/** What one attempt (a claim held, the Send API called or the Page found paused) led to. */
export type AttemptResult<Status extends string> = SentResult | EndedResult<Status> | RetryResult;

/** What the Send API accepted, as the record keeps it. */
export interface SentFacts {
  messageId?: string;
  recipientId?: string;
}

export interface AfterSendDeps extends RecordSendDeps {
  retryPolicy: RetryPolicy;
  unknownOutcome: UnknownOutcomePolicy;
  pages?: PageHealth;
}

/**
 * After the Send API answered. Accepted: the send is recorded at once (or handed over before the
 * lease ends), and only then is the Page's health told. Refused: the failure is classified, the
 * Page's health told (it may pause the Page), and `afterFailure` decides: retry, or end.
 */
export async function afterSend<Status extends string>(input: {
  outcome: SendOutcome;
  /** When the answer came. */
  nowMs: number;
  deps: AfterSendDeps;
  /** The Page, its token and the gate the attempt passed (for the Page's health). */
  page: { pageId: string; accessToken: string; gate: PageGate };
  /** Records the accepted send (may throw a transient error: retried, then handed over). */
  record(sent: SentFacts): Promise<RecordOutcome>;
  /** The `sent` job that records it later, if the table will not take it before the lease ends. */
  handOver(sent: SentFacts): SentJob;
  leaseUntilMs: number;
  /** The attempt's number, for the failure. */
  attemptNumber(): number | Promise<number>;
  giveUpAtMs: number;
  names: FailureNames<Status>;
  retry(failure: AttemptError, retryAtMs: number): Promise<unknown>;
  finish(
    end: { status: Status | 'unknown' | 'expired'; reason: string },
    failure: AttemptError,
    kind?: EndingKind,
  ): Promise<unknown>;
}): Promise<AttemptResult<Status | 'unknown' | 'expired'>> {
  const { outcome, deps } = input;
  const healthOf = (nowMs: number) =>
    deps.pages?.afterAttempt({ ...input.page, outcome, nowMs }) ?? Promise.resolve(undefined);

  if (outcome.ok) {
    const sent: SentFacts = {
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      ...(outcome.recipientId !== undefined ? { recipientId: outcome.recipientId } : {}),
    };
    // From here on the message is out: nothing may send it again, whatever the table says.
    const recorded = await recordOrHandOver(
      () => input.record(sent),
      () => input.handOver(sent),
      input.leaseUntilMs,
      deps,
    );
    // Only a probe writes here (the Page resumes); an open Page's send writes nothing more.
    const page = await healthOf(deps.now());
    return {
      result: 'sent',
      ...(outcome.messageId !== undefined ? { messageId: outcome.messageId } : {}),
      record: recorded.result,
      recordTries: recorded.tries,
      ...(page ? { page } : {}),
    };
  }

  const failure: AttemptError = {
    ...outcome.failure,
    kind: classifySendFailure(outcome.failure),
    attempt: await input.attemptNumber(),
  };
  const page = await healthOf(input.nowMs);
  return afterFailure({
    failure,
    page,
    nowMs: input.nowMs,
    giveUpAtMs: input.giveUpAtMs,
    deps,
    names: input.names,
    retry: (retryAtMs) => input.retry(failure, retryAtMs),
    finish: (end, kind) => input.finish(end, failure, kind),
  });
}

/**
 * A job of a paused Page waits in the queue, without an attempt, until the Page's next probe
 * (`deferSeconds`: later with each receive, never past `giveUpAtMs`). `hold` records the wait
 * (the caller's store call, given the time the job comes back) and may end the job instead.
 */
export async function waitForPage<Other>(input: {
  pages: PageHealth;
  gate: Extract<PageGate, { kind: 'paused' }>;
  nowMs: number;
  context: JobContext;
  giveUpAtMs: number;
  random?: () => number;
  hold(untilMs: number): Promise<Other | undefined>;
}): Promise<RetryResult | Other> {
  const { gate, nowMs } = input;
  const delaySeconds = deferSeconds({
    untilMs: gate.untilMs,
    nowMs,
    receiveCount: input.context.receiveCount ?? 1,
    windowEndsAtMs: input.giveUpAtMs,
    options: input.pages.options,
    ...(input.random ? { random: input.random } : {}),
  });
  const instead = await input.hold(nowMs + delaySeconds * 1000);
  if (instead !== undefined) return instead;
  return {
    result: 'retry',
    delaySeconds,
    reason: pagePausedReason(gate.reason),
    pagePaused: gate.reason,
  };
}

/**
 * `hold`, and an earlier attempt's lease ran out: it may have sent, so the job ends `unknown`
 * rather than risk a second message. `abandon` ends the record (false if someone moved it
 * meanwhile: look again in a second).
 */
export async function endAbandoned(
  abandon: (reason: string) => Promise<boolean>,
): Promise<EndedResult<'unknown'> | RetryResult> {
  const reason = REASON.previousAttemptOutcomeUnknown;
  if (await abandon(reason))
    return { result: 'ended', status: 'unknown', reason, unknownOutcome: 'lease_expired' };
  return { result: 'retry', delaySeconds: 1, reason: 'busy' };
}

/** An attempt that took over an expired lease: its outcome says so unless it knows more. */
export function afterTakeover<Result extends { unknownOutcome?: UnknownOutcome }>(
  takeover: boolean,
  result: Result,
): Result {
  return takeover && result.unknownOutcome === undefined
    ? { ...result, unknownOutcome: 'lease_expired' }
    : result;
}
