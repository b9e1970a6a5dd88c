import type { PageState, PausePlan } from '../../../shared/login-connect/page-state';
import type { PageStateStore } from '../../../shared/store/page-store';

/** An in-memory PageStateStore that counts what it is asked. */
export class FakePageStore implements PageStateStore {
  states = new Map<string, PageState>();
  calls: string[] = [];
  failWrites = false;

  async get(pageId: string) {
    this.calls.push('get');
    const state = this.states.get(pageId);
    return state ? structuredClone(state) : undefined;
  }
  async list() {
    return [...this.states.values()];
  }
  private write(name: string) {
    this.calls.push(name);
    if (this.failWrites) throw new Error('DynamoDB is down');
  }
  async pause(pageId: string, plan: PausePlan, nowMs: number) {
    this.write('pause');
    const old = this.states.get(pageId);
    if (plan.reason === 'rate_limited' && old?.pausedReason && old.pausedReason !== 'rate_limited')
      return false;
    this.states.set(pageId, {
      pageId,
      pausedReason: plan.reason,
      pausedSince: old?.pausedSince ?? nowMs,
      pausedUntil: plan.untilMs,
      pauseCount: plan.pauseCount,
      ...(plan.tokenHash ? { tokenHash: plan.tokenHash } : {}),
    });
    return true;
  }
  async takeProbe(pageId: string, owner: string, untilMs: number, nowMs: number) {
    this.write('takeProbe');
    const state = this.states.get(pageId);
    if (!state?.pausedReason || (state.probeUntil !== undefined && state.probeUntil >= nowMs))
      return false;
    this.states.set(pageId, { ...state, probeOwner: owner, probeUntil: untilMs });
    return true;
  }
  async releaseProbe(pageId: string, owner: string) {
    this.write('releaseProbe');
    const state = this.states.get(pageId);
    if (state?.probeOwner !== owner) return;
    const { probeOwner: _o, probeUntil: _u, ...rest } = state;
    this.states.set(pageId, rest);
  }
  async resume(pageId: string, owner: string, nowMs: number) {
    this.write('resume');
    if (this.states.get(pageId)?.probeOwner !== owner) return false;
    this.states.set(pageId, { pageId, resumedAt: nowMs });
    return true;
  }
  async recordWatch() {
    this.write('recordWatch');
  }
}
