import type { AttemptError } from '../store/optin-store';
import type { PersonStore } from '../store/person-store';
import type { PersonId } from '../store/table-definition';
import type { PageEvent } from './page-health';
import { REASON } from './reasons';
import { planRetry, type RetryPolicy } from './retry';
import {
  type FailureKind,
  outcomeUnknown,
  type PagePauseReason,
  pageProblem,
  type SendFailure,
  type UnknownOutcomePolicy,
} from './send-errors';

/**
 * What a failed Send API attempt leads to, for first messages and follow-ups alike: ended as
 * `unknown` (`hold` and no answer), retried while there is time (transient failures and the Page's
 * own), ended as `expired` once there is none, or ended for good by the failure's kind.
 */

/** The failures that end a job for good: neither transient nor the Page's own. */
export type EndingKind = Exclude<FailureKind, 'transient' | 'page_restricted' | 'token_invalid'>;

/** How the caller names each way a failure can go (its reasons and statuses stay its own). */
export interface FailureNames<Status extends string> {
  /** `hold`, and Graph gave no answer. */
  noAnswer: string;
  /** A transient failure retried. */
  transient: string;
  /** No time left for another attempt; `problem` when the Page's own failures were retried. */
  gaveUp(problem: PagePauseReason | undefined): string;
  /** How each kind of failure that is not retried ends the job. */
  end: Record<EndingKind, { status: Status; reason: string }>;
}

/**
 * The names first messages and follow-ups share: Graph's no answer, a transient failure, the
 * person not receiving (`opted_out`) and a permanent refusal (`failed`). `own` holds the two that
 * differ: the reason for giving up, and what Graph's "outside the allowed window" ends as.
 */
export function failureNames<Status extends string>(own: {
  gaveUp: FailureNames<Status>['gaveUp'];
  windowClosed: { status: Status; reason: string };
}): FailureNames<Status | 'opted_out' | 'failed'> {
  return {
    noAnswer: REASON.sendApiNoAnswer,
    transient: 'transient_send_error',
    gaveUp: own.gaveUp,
    end: {
      window_closed: own.windowClosed,
      opted_out: { status: 'opted_out', reason: REASON.sendApiNotReceiving },
      permanent: { status: 'failed', reason: REASON.sendApiRejected },
    },
  };
}

export type FailureResult<Status extends string> =
  | {
      result: 'ended';
      status: Status | 'unknown' | 'expired';
      reason: string;
      failure: AttemptError;
      unknownOutcome?: 'send_api_no_answer';
      page?: PageEvent;
    }
  | {
      result: 'retry';
      delaySeconds: number;
      reason: string;
      failure: AttemptError;
      unknownOutcome?: 'send_api_no_answer';
      page?: PageEvent;
    };

export async function afterFailure<Status extends string>(input: {
  /** The attempt's failure, with its kind and attempt number. */
  failure: AttemptError;
  /** What the attempt changed about its Page, if anything. */
  page: PageEvent | undefined;
  nowMs: number;
  /** No attempt starts after this (the opt-in's window, a follow-up's day). */
  giveUpAtMs: number;
  deps: {
    retryPolicy: RetryPolicy;
    unknownOutcome: UnknownOutcomePolicy;
    random?: () => number;
  };
  names: FailureNames<Status>;
  /** Records the retry (gives the lease back until `retryAtMs`). */
  retry(retryAtMs: number): Promise<unknown>;
  /** Ends the record; `kind` is set when the failure's kind ended it. */
  finish(
    end: { status: Status | 'unknown' | 'expired'; reason: string },
    kind?: EndingKind,
  ): Promise<unknown>;
}): Promise<FailureResult<Status>> {
  const { failure, page, nowMs, names } = input;
  const pageEvent = page ? { page } : {};
  if (outcomeUnknown(failure) && input.deps.unknownOutcome === 'hold') {
    const end = { status: 'unknown' as const, reason: names.noAnswer };
    await input.finish(end);
    return { result: 'ended', ...end, failure, unknownOutcome: 'send_api_no_answer', ...pageEvent };
  }
  const unknown = outcomeUnknown(failure) ? { unknownOutcome: 'send_api_no_answer' as const } : {};
  // The Page's own failures (restricted, token invalid, rate limited) are retried, never ended:
  // once the Page's back-off has passed, while there is time.
  const problem = pageProblem(failure);
  if (failure.kind === 'transient' || problem !== undefined) {
    const plan = planRetry({
      attempt: failure.attempt,
      nowMs,
      windowEndsAtMs: input.giveUpAtMs,
      policy: input.deps.retryPolicy,
      ...(input.deps.random ? { random: input.deps.random } : {}),
      ...(page?.event === 'paused' ? { notBeforeMs: page.untilMs } : {}),
    });
    if (plan.retry) {
      await input.retry(plan.retryAtMs);
      return {
        result: 'retry',
        delaySeconds: plan.delaySeconds,
        reason: problem ?? names.transient,
        failure,
        ...unknown,
        ...pageEvent,
      };
    }
    const reason = names.gaveUp(problem);
    await input.finish({ status: 'expired', reason });
    return { result: 'ended', status: 'expired', reason, failure, ...unknown, ...pageEvent };
  }
  // Narrowed: the transient and Page kinds returned above.
  const kind = failure.kind as EndingKind;
  const end = names.end[kind];
  await input.finish(end, kind);
  return { result: 'ended', ...end, failure, ...pageEvent };
}

/** Facebook says the person is not receiving (551 and kin): what their suppression records. */
export function notReceiving(
  reason: string,
  failure: Pick<SendFailure, 'code' | 'subcode'>,
): { source: 'send_api'; reason: string; code?: number; subcode?: number } {
  return {
    source: 'send_api',
    reason,
    ...(failure.code !== undefined ? { code: failure.code } : {}),
    ...(failure.subcode !== undefined ? { subcode: failure.subcode } : {}),
  };
}

/** Suppresses `person` and every identifier linked to them, after Facebook said "not receiving". */
export async function suppressNotReceiving(
  people: Pick<PersonStore, 'suppress'>,
  person: PersonId,
  reason: string,
  failure: Pick<SendFailure, 'code' | 'subcode'>,
  nowMs: number,
): Promise<void> {
  await people.suppress(person, notReceiving(reason, failure), nowMs);
}
