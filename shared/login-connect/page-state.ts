import { createHash } from 'node:crypto';
import type { GraphUsage } from '../graph/ports';
import { regainAccessMs } from '../graph/usage';
import { LAST_CHANCE_MARGIN_MS, MAX_VISIBILITY_SECONDS } from './retry';
import type { PagePauseReason, SendFailure } from './send-errors';

/**
 * The health of one Page, as the sender and the watchdog share it (one DynamoDB item per Page).
 * Times are epoch ms here; the store keeps them as ISO strings.
 */
export interface PageState {
  pageId: string;
  /** Set while the Page is paused: no send goes through it but one probe at a time. */
  pausedReason?: PagePauseReason;
  pausedSince?: number;
  /** When the next probe may go (the back-off's end); jobs wait until then. */
  pausedUntil?: number;
  /** Pauses in a row for the same reason: the back-off doubles with each. */
  pauseCount?: number;
  /** `token_invalid` only: a hash of the token Graph refused (never the token). */
  tokenHash?: string;
  /** The one attempt allowed through a paused Page, and until when it holds that right. */
  probeOwner?: string;
  probeUntil?: number;
  /** The Graph error that paused the Page. */
  lastError?: PageError;
  /** Graph's usage headers on the answer that paused it (rate limits). */
  usage?: GraphUsage;
  resumedAt?: number;
  /** Why the Page was last paused, kept after it resumed. */
  lastPausedReason?: PagePauseReason;
  /** The watchdog: the newest opt-in and first message it saw for this Page. */
  lastOptinAt?: number;
  lastSendAt?: number;
  /** The watchdog's last look at the app's webhook subscription on this Page. */
  subscription?: SubscriptionCheck;
  /** When the watchdog last looked at this Page. */
  watchedAt?: number;
  updatedAt?: number;
}

export interface PageError {
  code?: number;
  subcode?: number;
  httpStatus?: number;
  message: string;
  at: number;
}

/** What the watchdog found of the app's subscription to the Page's webhooks. */
export interface SubscriptionCheck {
  checkedAt: number;
  /**
   * `ok`: subscribed with every field we need; `resubscribed`: it was not, and the watchdog
   * subscribed it again; `missing`: it is not, and could not be subscribed again; `check_failed`:
   * Graph could not be asked (the subscription may be fine).
   */
  status: 'ok' | 'resubscribed' | 'missing' | 'check_failed';
  /** The fields subscribed, as Graph listed them (after a re-subscription: as asked for). */
  fields?: string[];
  /** The fields we need that were missing. */
  missingFields?: string[];
  error?: Omit<PageError, 'at'>;
}

/** How long Pages back off, and how long the sender trusts what it read of a Page. */
export interface PageHealthOptions {
  /** First back-off of a paused Page; doubles with each pause in a row. */
  backoffBaseMs: number;
  /** Longest back-off between two probes. */
  backoffMaxMs: number;
  /** How long a read of a Page's state is kept in memory (per sender container). */
  cacheMs: number;
  /** How long a probe holds its right to go through a paused Page (the send's lease). */
  probeLeaseMs: number;
}

/** What the sender may do with a job of this Page now. */
export type PageGate =
  | { kind: 'open' }
  /** The Page is paused, and this job is the one that finds out whether it still is. */
  | { kind: 'probe'; reason: PagePauseReason; owner: string }
  | { kind: 'paused'; reason: PagePauseReason; untilMs: number };

/** A stable, non-reversible fingerprint of a token: tells a replaced token from the old one. */
export function tokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('hex').slice(0, 16);
}

/**
 * Whether a job may go through the Page now. Pure. A paused Page lets one probe through once its
 * back-off has passed (at once for `token_invalid` when the token in the secret changed), while no
 * other probe holds the right; everything else waits (while a probe runs, `PROBE_RECHECK_MS` at
 * most, to learn its outcome soon).
 */
export function decideGate(
  state: PageState | undefined,
  now: { nowMs: number; tokenHash: string },
):
  | { kind: 'open' }
  | { kind: 'probe'; reason: PagePauseReason }
  | Extract<PageGate, { kind: 'paused' }> {
  const reason = state?.pausedReason;
  if (state === undefined || reason === undefined) return { kind: 'open' };
  if (state.probeUntil !== undefined && state.probeUntil > now.nowMs)
    return {
      kind: 'paused',
      reason,
      untilMs: Math.min(state.probeUntil, now.nowMs + PROBE_RECHECK_MS),
    };
  const tokenReplaced =
    reason === 'token_invalid' &&
    state.tokenHash !== undefined &&
    state.tokenHash !== now.tokenHash;
  const until = state.pausedUntil ?? now.nowMs;
  if (tokenReplaced || until <= now.nowMs) return { kind: 'probe', reason };
  return { kind: 'paused', reason, untilMs: until };
}

/**
 * How long a job waits while another job probes the Page. The probe's right lasts a whole send
 * lease, in case its sender dies, but its one Send API call usually answers within a second:
 * waiting out the lease would hold every job of the Page back for half a minute after each probe.
 * Looking again this soon costs one receive per waiting job, which `deferSeconds`'s floor bounds.
 */
export const PROBE_RECHECK_MS = 5_000;

/** Doubling back-off: the base for the first pause, at most the max. */
export function backoffMs(pauseCount: number, options: PageHealthOptions): number {
  const exponent = Math.min(Math.max(pauseCount - 1, 0), 30);
  return Math.min(options.backoffMaxMs, options.backoffBaseMs * 2 ** exponent);
}

/** A pause to record: why, until when, and what to keep about it. */
export interface PausePlan {
  reason: PagePauseReason;
  untilMs: number;
  pauseCount: number;
  tokenHash?: string;
  error: PageError;
  usage?: GraphUsage;
}

/**
 * How long a Page pauses after a failure that is its own. Pure. A rate limit waits as long as
 * Graph's `estimated_time_to_regain_access` says when it says so (it knows; at most a day), else
 * the back-off; a restriction and an invalid token back off, doubling with each pause in a row.
 */
export function planPause(args: {
  pageId: string;
  reason: PagePauseReason;
  failure: SendFailure;
  usage?: GraphUsage;
  state?: PageState;
  accessToken: string;
  nowMs: number;
  options: PageHealthOptions;
}): PausePlan {
  const { reason, state, nowMs, options } = args;
  const pauseCount = (state?.pausedReason === reason ? (state.pauseCount ?? 0) : 0) + 1;
  let waitMs = backoffMs(pauseCount, options);
  if (reason === 'rate_limited') {
    const regain = regainAccessMs(args.usage, args.pageId);
    if (regain !== undefined && regain > 0) waitMs = Math.min(regain, 24 * 3_600_000);
  }
  const { code, subcode, httpStatus, message } = args.failure;
  return {
    reason,
    untilMs: nowMs + waitMs,
    pauseCount,
    ...(reason === 'token_invalid' ? { tokenHash: tokenHash(args.accessToken) } : {}),
    error: {
      ...(code !== undefined ? { code } : {}),
      ...(subcode !== undefined ? { subcode } : {}),
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      message: message.slice(0, 500),
      at: nowMs,
    },
    ...(args.usage ? { usage: args.usage } : {}),
  };
}

/**
 * How long a job of a paused Page is hidden in the queue (SQS visibility), in whole seconds. Pure.
 * - Until the Page's next probe, plus jitter so the waiting jobs do not all come back at once.
 * - At least a floor that grows with the message's receive count (×1.5 per receive, from a
 *   quarter of the back-off base to a quarter of its max), so a long pause cannot spend the
 *   queue's `maxReceiveCount` (a job deferred all day is received about a hundred times with the
 *   defaults) and move the message to the dead-letter queue.
 * - Never past the window's last chance; once that has passed, until just after the window
 *   closes, so the job comes back to be ended as expired.
 */
export function deferSeconds(args: {
  untilMs: number;
  nowMs: number;
  receiveCount: number;
  windowEndsAtMs?: number;
  options: PageHealthOptions;
  random?: () => number;
}): number {
  const { nowMs, options } = args;
  const random = args.random ?? Math.random;
  const wait = Math.max(args.untilMs - nowMs, 0);
  const jitter = random() * Math.min(30_000, Math.max(1_000, wait / 2));
  const floor = Math.min(
    options.backoffMaxMs / 4,
    (options.backoffBaseMs / 4) * 1.5 ** Math.min(Math.max(args.receiveCount - 1, 0), 60),
  );
  let delayMs = Math.max(wait + jitter, floor, 1_000);
  if (args.windowEndsAtMs !== undefined) {
    const lastChance = args.windowEndsAtMs - LAST_CHANCE_MARGIN_MS;
    if (nowMs >= lastChance) delayMs = args.windowEndsAtMs - nowMs + 1_000;
    else delayMs = Math.min(delayMs, lastChance - nowMs);
  }
  return Math.min(Math.max(Math.ceil(delayMs / 1000), 1), MAX_VISIBILITY_SECONDS);
}
