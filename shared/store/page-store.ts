import type { PageState, PausePlan, SubscriptionCheck } from '../login-connect/page-state';

/**
 * Persistence of each Page's health (one item per Page). Writes happen only when something about
 * a Page changes (a pause, a probe, a resumption) and on the watchdog's schedule: never on the
 * happy path of a send.
 */
export interface PageStateStore {
  /** The Page's state, or undefined when nothing was ever recorded about it. */
  get(pageId: string): Promise<PageState | undefined>;
  /** Every Page's state (one Query). */
  list(): Promise<PageState[]>;
  /**
   * Pauses the Page as planned (ending any probe). A rate limit does not replace a pause for
   * another reason; false when it was not recorded for that reason.
   */
  pause(pageId: string, plan: PausePlan, nowMs: number): Promise<boolean>;
  /** Takes the right to probe a paused Page until `untilMs`, unless someone holds it. */
  takeProbe(pageId: string, owner: string, untilMs: number, nowMs: number): Promise<boolean>;
  /** Gives the probe right back without deciding (the probe learnt nothing). */
  releaseProbe(pageId: string, owner: string, nowMs: number): Promise<void>;
  /** Ends the pause the probe `owner` holds; false when it no longer holds it. */
  resume(pageId: string, owner: string, nowMs: number): Promise<boolean>;
  /** What the watchdog saw: newest opt-in and send, the subscription check. */
  recordWatch(
    pageId: string,
    seen: { lastOptinAt?: number; lastSendAt?: number; subscription?: SubscriptionCheck },
    nowMs: number,
  ): Promise<void>;
}
