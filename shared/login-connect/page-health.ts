import { randomUUID } from 'node:crypto';
import type { SendOutcome } from '../graph/ports';
import type { OptinJob } from '../messages';
import type { OptinStore } from '../store/optin-store';
import type { PageStateStore } from '../store/page-store';
import {
  decideGate,
  type PageGate,
  type PageHealthOptions,
  type PageState,
  planPause,
  tokenHash,
} from './page-state';
import { classifySendFailure, type PagePauseReason, pageProblem } from './send-errors';

/** What an attempt through a Page changed about the Page (`pageId`). */
export type PageEvent = {
  pageId: string;
} /** Paused (or paused again) until `untilMs`; `recorded: false` when a stronger pause stands. */ & (
  | {
      event: 'paused';
      reason: PagePauseReason;
      untilMs: number;
      pauseCount: number;
      recorded: boolean;
      writeError?: unknown;
    }
  /** The probe went through: the Page sends again. */
  | { event: 'resumed'; reason: PagePauseReason; pausedSince?: number; writeError?: unknown }
  /** The probe learnt nothing (a transient error): another job will probe. */
  | { event: 'probe_released'; reason: PagePauseReason; writeError?: unknown }
);

/**
 * Each Page's health as one sender container sees it: the Page states, read through an in-memory
 * cache of `cacheMs`, and the writes that pause, probe and resume a Page. An open Page costs at
 * most one (eventually consistent) read per `cacheMs` per container, and no write at all.
 */
export class PageHealth {
  private readonly cache = new Map<string, { state: PageState | undefined; readAtMs: number }>();
  /** Reads under way: the records of a batch run at once, and share one read of their Page. */
  private readonly reading = new Map<string, Promise<PageState | undefined>>();

  constructor(
    private readonly store: PageStateStore,
    readonly options: PageHealthOptions,
    private readonly newOwner: () => string = randomUUID,
  ) {}

  /** The Page's state, from memory when read less than `cacheMs` ago. */
  async read(pageId: string, nowMs: number): Promise<PageState | undefined> {
    const cached = this.cache.get(pageId);
    if (cached && nowMs - cached.readAtMs < this.options.cacheMs && nowMs >= cached.readAtMs)
      return cached.state;
    return this.refresh(pageId, nowMs);
  }

  private async refresh(pageId: string, nowMs: number): Promise<PageState | undefined> {
    const under = this.reading.get(pageId);
    if (under) return under;
    const read = this.store.get(pageId).then((state) => {
      this.cache.set(pageId, { state, readAtMs: nowMs });
      return state;
    });
    this.reading.set(pageId, read);
    try {
      return await read;
    } finally {
      this.reading.delete(pageId);
    }
  }

  private remember(pageId: string, state: PageState | undefined, nowMs: number): void {
    this.cache.set(pageId, { state, readAtMs: nowMs });
  }

  /**
   * Whether a job may send through the Page now (see `decideGate`). When the Page is paused and
   * its back-off has passed, this job becomes its probe if it wins the right to (a conditional
   * write); the caller must then report the attempt (`afterAttempt`) or give the right back.
   */
  async gate(pageId: string, accessToken: string, nowMs: number): Promise<PageGate> {
    const state = await this.read(pageId, nowMs);
    const hash = tokenHash(accessToken);
    const decided = decideGate(state, { nowMs, tokenHash: hash });
    if (decided.kind !== 'probe') return decided;
    const owner = this.newOwner();
    const probeUntil = nowMs + this.options.probeLeaseMs;
    if (await this.store.takeProbe(pageId, owner, probeUntil, nowMs)) {
      this.remember(pageId, { ...(state as PageState), probeOwner: owner, probeUntil }, nowMs);
      return { kind: 'probe', reason: decided.reason, owner };
    }
    // Another job probes, or the Page resumed meanwhile: look again.
    const again = decideGate(await this.refresh(pageId, nowMs), { nowMs, tokenHash: hash });
    if (again.kind === 'probe')
      return { kind: 'paused', reason: again.reason, untilMs: nowMs + 1000 };
    return again;
  }

  /** Gives back a probe right that no attempt used (the opt-in was busy, ended, …). */
  async release(pageId: string, gate: PageGate, nowMs: number): Promise<void> {
    if (gate.kind !== 'probe') return;
    await this.store.releaseProbe(pageId, gate.owner, nowMs);
    this.cache.delete(pageId);
  }

  /**
   * What a send attempt through the Page says about the Page. A failure that is the Page's own
   * (restricted, token invalid, rate limited) pauses it; a probe that got any other answer of
   * Graph's decision resumes it; a probe that got a transient error gives its right back. An
   * attempt through an open Page that went well writes nothing. Never throws: a failed write is
   * reported in `writeError` (the pause still applies to this attempt's retry).
   */
  async afterAttempt(args: {
    pageId: string;
    accessToken: string;
    gate: PageGate;
    outcome: SendOutcome;
    nowMs: number;
  }): Promise<PageEvent | undefined> {
    const { pageId, gate, outcome, nowMs } = args;
    const reason = outcome.ok ? undefined : pageProblem(outcome.failure);
    if (!outcome.ok && reason !== undefined) {
      const state = this.cache.get(pageId)?.state;
      const plan = planPause({
        pageId,
        reason,
        failure: outcome.failure,
        ...(outcome.usage ? { usage: outcome.usage } : {}),
        ...(state ? { state } : {}),
        accessToken: args.accessToken,
        nowMs,
        options: this.options,
      });
      const event: PageEvent & { event: 'paused' } = {
        pageId,
        event: 'paused',
        reason,
        untilMs: plan.untilMs,
        pauseCount: plan.pauseCount,
        recorded: true,
      };
      try {
        event.recorded = await this.store.pause(pageId, plan, nowMs);
        if (event.recorded) {
          const {
            probeOwner: _o,
            probeUntil: _u,
            tokenHash: _t,
            usage: _g,
            ...rest
          } = state ?? ({ pageId } as PageState);
          this.remember(
            pageId,
            {
              ...rest,
              pausedReason: reason,
              pausedSince: state?.pausedSince ?? nowMs,
              pausedUntil: plan.untilMs,
              pauseCount: plan.pauseCount,
              lastError: plan.error,
              lastPausedReason: reason,
              ...(plan.tokenHash ? { tokenHash: plan.tokenHash } : {}),
              ...(plan.usage ? { usage: plan.usage } : {}),
            },
            nowMs,
          );
        } else this.cache.delete(pageId);
      } catch (error) {
        event.writeError = error;
        this.cache.delete(pageId);
      }
      return event;
    }
    if (gate.kind !== 'probe') return undefined;
    const inconclusive =
      !outcome.ok &&
      (classifySendFailure(outcome.failure) === 'transient' ||
        outcome.failure.network !== undefined);
    const state = this.cache.get(pageId)?.state;
    try {
      if (inconclusive) {
        await this.store.releaseProbe(pageId, gate.owner, nowMs);
        this.cache.delete(pageId);
        return { pageId, event: 'probe_released', reason: gate.reason };
      }
      const resumed = await this.store.resume(pageId, gate.owner, nowMs);
      this.cache.delete(pageId);
      if (!resumed) return undefined;
      return {
        pageId,
        event: 'resumed',
        reason: gate.reason,
        ...(state?.pausedSince !== undefined ? { pausedSince: state.pausedSince } : {}),
      };
    } catch (error) {
      this.cache.delete(pageId);
      return inconclusive
        ? { pageId, event: 'probe_released', reason: gate.reason, writeError: error }
        : { pageId, event: 'resumed', reason: gate.reason, writeError: error };
    }
  }
}

/**
 * Once a Page resumes, its opt-ins that waited are made due and queued again at once, rather
 * than each waiting out its own deferral (up to the back-off's max). The claim still lets each
 * through exactly once; their own queue messages, when they come back, find them ended.
 */
export async function wakePage(
  pageId: string,
  deps: { store: OptinStore; enqueue(jobs: OptinJob[]): Promise<unknown>; now: () => number },
  limit = 500,
): Promise<number> {
  const nowMs = deps.now();
  const jobs: OptinJob[] = [];
  for (const optin of await deps.store.waitingOn(pageId, limit)) {
    if (optin.windowEndsAtMs <= nowMs) continue;
    if (!(await deps.store.wake(optin.loginId, optin.sweepAt, nowMs))) continue;
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
  if (jobs.length > 0) await deps.enqueue(jobs);
  return jobs.length;
}
