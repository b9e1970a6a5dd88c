import type { OptinJob } from '../messages';
import type { OptinStore } from '../store/optin-store';
import { REASON } from './reasons';
import type { UnknownOutcomePolicy } from './send-errors';

export interface SweepDeps {
  store: OptinStore;
  /** What an attempt whose lease ran out (its outcome unknown) ends as when its window passed. */
  unknownOutcome?: UnknownOutcomePolicy;
  enqueue(jobs: OptinJob[]): Promise<unknown>;
  now: () => number;
}

export interface SweepOptions {
  /**
   * How long past its lease or retry time an opt-in may sit before it counts as lost. Longer than
   * the queue's visibility timeout, so SQS has had its chance to deliver the message again.
   */
  graceMs: number;
  /** When an opt-in was enqueued again, look at it again after this long. */
  recheckMs: number;
  /** At most this many opt-ins per run. */
  limit: number;
}

export interface SweepResult {
  checked: number;
  requeued: number;
  expired: number;
  /** Passed opt-ins whose last attempt's outcome is unknown (a lease ran out mid-attempt). */
  unknown: number;
}

/**
 * The safety net under the queue: finds opt-ins not ended that nothing is working on (a lost
 * queue message, a lease whose worker died and whose message went to the DLQ) and enqueues them
 * again while their window is open; ends those whose window has passed as `expired`. Enqueuing
 * twice is harmless: the claim lets one attempt through.
 */
export async function sweep(deps: SweepDeps, options: SweepOptions): Promise<SweepResult> {
  const now = deps.now();
  const stale = await deps.store.stale(now - options.graceMs, options.limit);
  const result: SweepResult = { checked: stale.length, requeued: 0, expired: 0, unknown: 0 };
  const jobs: OptinJob[] = [];
  for (const optin of stale) {
    if (optin.windowEndsAtMs <= now) {
      // A `sending` opt-in here is an attempt whose process died: it may have sent.
      const diedMidAttempt = optin.status === 'sending';
      const end =
        diedMidAttempt && deps.unknownOutcome === 'hold'
          ? { status: 'unknown' as const, reason: REASON.previousAttemptOutcomeUnknown }
          : { status: 'expired' as const, reason: REASON.windowClosedUnattended };
      const settled = await deps.store.settle(optin, end, now);
      if (settled.outcome !== 'recorded') continue;
      if (diedMidAttempt) result.unknown += 1;
      if (end.status === 'expired') result.expired += 1;
      continue;
    }
    // Claim the re-enqueue first, so two sweeps running at once enqueue it once.
    if (await deps.store.deferSweep(optin.loginId, optin.sweepAt, now + options.recheckMs)) {
      jobs.push({
        v: 1,
        kind: 'optin',
        pageId: optin.pageId,
        loginId: optin.loginId,
        optinAt: optin.optinAtMs,
        receivedAt: optin.receivedAtMs,
        source: optin.source,
      });
    }
  }
  if (jobs.length > 0) await deps.enqueue(jobs);
  result.requeued = jobs.length;
  return result;
}
