import { FIRST_MESSAGE_WINDOW_MS } from './window';

/** How transient Send API failures are retried. */
export interface RetryPolicy {
  /** Delay before the second attempt; doubles with every attempt. */
  baseSeconds: number;
  /** Longest delay between two attempts. */
  maxSeconds: number;
}

/** Leave this much of the window for a last attempt instead of giving up early. */
export const LAST_CHANCE_MARGIN_MS = 15_000;
/** SQS cannot hide a message for longer than 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

export type RetryPlan =
  | { retry: true; retryAtMs: number; delaySeconds: number }
  | { retry: false; reason: 'window_closing' };

/**
 * Plans the next attempt after `attempt` failed attempts (1 after the first failure), with
 * exponential backoff and "equal jitter": half the delay is fixed, half is random, so retries of a
 * burst spread out but never collapse to zero. A retry that would land after the window closes is
 * pulled in to just before the close; if not even that fits, the plan is to give up.
 */
export function planRetry(args: {
  attempt: number;
  nowMs: number;
  windowEndsAtMs: number;
  policy: RetryPolicy;
  random?: () => number;
  /** No earlier than this (a paused Page's next probe). */
  notBeforeMs?: number;
}): RetryPlan {
  const { attempt, nowMs, windowEndsAtMs, policy } = args;
  const random = args.random ?? Math.random;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** exponent);
  const delayMs = Math.round((ceiling / 2 + random() * (ceiling / 2)) * 1000);
  let retryAtMs = Math.max(nowMs + Math.max(delayMs, 1000), args.notBeforeMs ?? 0);
  if (retryAtMs >= windowEndsAtMs - LAST_CHANCE_MARGIN_MS) {
    retryAtMs = windowEndsAtMs - LAST_CHANCE_MARGIN_MS;
    if (retryAtMs - nowMs < 1000) return { retry: false, reason: 'window_closing' };
  }
  return { retry: true, retryAtMs, delaySeconds: visibilitySeconds(retryAtMs - nowMs) };
}

/** Whole seconds to hide a message so it comes back no earlier than `delayMs` from now. */
export function visibilitySeconds(delayMs: number): number {
  return Math.min(Math.max(Math.ceil(delayMs / 1000), 1), MAX_VISIBILITY_SECONDS);
}

/**
 * The most attempts a window can hold under `policy` when every jitter draw is the smallest.
 * The queue's `maxReceiveCount` must be above this, or SQS would move a message to the DLQ while it
 * is still being retried on schedule.
 */
export function maxAttemptsInWindow(policy: RetryPolicy): number {
  let elapsedMs = 0;
  let attempts = 1;
  while (true) {
    const plan = planRetry({
      attempt: attempts,
      nowMs: elapsedMs,
      windowEndsAtMs: FIRST_MESSAGE_WINDOW_MS,
      policy,
      random: () => 0,
    });
    if (!plan.retry) return attempts;
    elapsedMs = plan.retryAtMs;
    attempts += 1;
  }
}

/** SQS refuses a redrive policy with a `maxReceiveCount` above this. */
export const SQS_MAX_RECEIVE_COUNT = 1000;
/** Receives allowed beyond the scheduled retries: crashes, timeouts, failures we could not record. */
export const UNSCHEDULED_RECEIVE_BUDGET = 10;

/**
 * `maxReceiveCount` of the send queue's redrive policy, in AWS and locally. Retries are scheduled by
 * changing the message's visibility, so every retry is one more receive of the same message; the
 * count must stay above the most attempts the first-message window can hold, or SQS would
 * dead-letter a message that is still being retried on schedule. On top of those comes a budget for
 * receives that did not end in a recorded attempt (a crashed or timed-out invocation).
 */
export function maxReceiveCountFor(policy: RetryPolicy): number {
  return Math.min(SQS_MAX_RECEIVE_COUNT, maxAttemptsInWindow(policy) + UNSCHEDULED_RECEIVE_BUDGET);
}
