import { randomUUID } from 'node:crypto';
import { windowEndsAt } from '../../../shared/login-connect/window';
import type { EventJob, RejectedOptinJob } from '../../../shared/messages';
import { takeoverGraceMs } from '../../../shared/store/dynamodb-optin-store';
import {
  type AttemptError,
  type Claim,
  type ClaimResult,
  type OptinRef,
  type OptinStatus,
  type OptinStore,
  type ParkResult,
  type RecordOutcome,
  type SentFacts,
  type SettleResult,
  type StaleOptin,
  TERMINAL_STATUSES,
  type TerminalStatus,
} from '../../../shared/store/optin-store';

const iso = (ms: number) => new Date(ms).toISOString();

/** One opt-in as the fake keeps it: what the DynamoDB item holds, in plain fields. */
export interface FakeOptin {
  loginId: string;
  pageId: string;
  optinAtMs: number;
  receivedAtMs: number;
  windowEndsAtMs: number;
  sources: Set<'webhook' | 'login'>;
  status: OptinStatus;
  statusReason?: string;
  attempts: number;
  leaseOwner?: string;
  leaseUntilMs?: number;
  nextAttemptAtMs?: number;
  /** In the `pending` index while set. */
  sweepAt?: string;
  waitingFor?: string;
  sentBy?: string;
  sentAtMs?: number;
  messageId?: string;
  recipientId?: string;
  lockConflict?: boolean;
  errors: AttemptError[];
}

/**
 * An in-memory `OptinStore` with the DynamoDB adapter's conditional semantics: every write checks
 * the same conditions, all or nothing. Single-threaded JavaScript makes each call atomic, which is
 * what DynamoDB's transactions give the adapter. `test/unit/fakes/optin-store-contract.test.ts`
 * and its integration twin hold both to the same behaviour.
 */
export class FakeOptinStore implements OptinStore {
  readonly optins = new Map<string, FakeOptin>();
  /** The Page each `login_id` is locked to. */
  readonly locks = new Map<string, string>();
  readonly suppressions = new Map<
    string,
    { reason: string; source: string; code?: number; subcode?: number }
  >();
  /** Tombstones: keyed hash → when the person was deleted. */
  readonly tombstones = new Map<string, number>();
  readonly events: EventJob[] = [];
  readonly rejected: Array<{ messageId: string; body: string; reason: string }> = [];
  readonly rejectedOptins: RejectedOptinJob[] = [];
  /** Every method called, in order (for tests that assert what was asked). */
  readonly calls: string[] = [];

  /** Calls of a method that throw before writing anything, as DynamoDB does when it refuses. */
  readonly faults = new Map<string, number>();

  constructor(private readonly newOwner: () => string = randomUUID) {}

  /** Makes the next `times` calls of `method` throw a throttling error (nothing written). */
  failNext(method: 'claim' | 'markSent' | 'recordHandedOver' | 'markRetry' | 'finish', times = 1) {
    this.faults.set(method, times);
  }

  private maybeFail(method: string) {
    const left = this.faults.get(method) ?? 0;
    if (left <= 0) return;
    this.faults.set(method, left - 1);
    throw Object.assign(new Error(`${method}: throttled`), { name: 'ThrottlingException' });
  }

  private deletedSince(optin: OptinRef): boolean {
    if (optin.tombstone === undefined) return false;
    const deletedAt = this.tombstones.get(optin.tombstone);
    return deletedAt !== undefined && deletedAt >= optin.optinAtMs;
  }

  private create(optin: OptinRef): FakeOptin {
    return {
      loginId: optin.loginId,
      pageId: optin.pageId,
      optinAtMs: optin.optinAtMs,
      receivedAtMs: optin.receivedAtMs,
      windowEndsAtMs: windowEndsAt(optin.optinAtMs),
      sources: new Set(),
      status: 'pending',
      attempts: 0,
      errors: [],
    };
  }

  async claim(
    optin: OptinRef,
    nowMs: number,
    leaseMs: number,
    options: { takeover?: boolean } = {},
  ): Promise<ClaimResult> {
    this.calls.push('claim');
    this.maybeFail('claim');
    const owner = this.newOwner();
    const first = this.claimWrite(optin, nowMs, leaseMs, owner, (old) =>
      old === undefined
        ? true
        : old.pageId === optin.pageId &&
          old.windowEndsAtMs > nowMs &&
          old.status === 'pending' &&
          (old.nextAttemptAtMs === undefined || old.nextAttemptAtMs <= nowMs),
    );
    if (first.outcome !== 'abandoned' || !options.takeover) return first;
    const previous = first.owner;
    const taken = this.claimWrite(
      optin,
      nowMs,
      leaseMs,
      owner,
      (old) =>
        old !== undefined &&
        old.pageId === optin.pageId &&
        old.windowEndsAtMs > nowMs &&
        old.status === 'sending' &&
        old.leaseOwner === previous &&
        (old.leaseUntilMs ?? 0) < nowMs,
    );
    return taken.outcome === 'claimed' ? { ...taken, takeover: true } : taken;
  }

  private claimWrite(
    optin: OptinRef,
    nowMs: number,
    leaseMs: number,
    owner: string,
    condition: (old: FakeOptin | undefined) => boolean,
  ): ClaimResult {
    const old = this.optins.get(optin.loginId);
    const optinOk = condition(old);
    const lockedTo = this.locks.get(optin.loginId);
    const lockOk = lockedTo === undefined || lockedTo === optin.pageId;
    const suppression = this.suppressions.get(optin.loginId);
    if (optinOk && lockOk && suppression === undefined && !this.deletedSince(optin)) {
      const record = old ?? this.create(optin);
      record.sources.add(optin.source);
      Object.assign(record, {
        status: 'sending',
        leaseOwner: owner,
        leaseUntilMs: nowMs + leaseMs,
        sweepAt: iso(nowMs + leaseMs),
        attempts: record.attempts + 1,
      });
      delete record.nextAttemptAtMs;
      delete record.waitingFor;
      this.optins.set(optin.loginId, record);
      return {
        outcome: 'claimed',
        claim: {
          loginId: optin.loginId,
          pageId: optin.pageId,
          owner,
          leaseUntilMs: nowMs + leaseMs,
        },
        takeover: false,
      };
    }
    // Refused: read as the adapter reads the cancellation reasons.
    if (this.deletedSince(optin)) return { outcome: 'deleted' };
    const seen = optinOk ? undefined : old;
    if (seen !== undefined && TERMINAL_STATUSES.has(seen.status))
      return { outcome: 'done', status: seen.status as TerminalStatus };
    if (suppression !== undefined) return { outcome: 'suppressed', reason: suppression.reason };
    if (!lockOk) return { outcome: 'locked', lockedPageId: lockedTo as string };
    if (seen === undefined) throw new Error('claim refused for no reason');
    if (seen.pageId !== optin.pageId) return { outcome: 'conflict', storedPageId: seen.pageId };
    if (seen.windowEndsAtMs <= nowMs) return { outcome: 'expired' };
    if (seen.status === 'sending' && seen.leaseOwner !== undefined) {
      const abandonedAtMs = (seen.leaseUntilMs ?? 0) + takeoverGraceMs(leaseMs);
      if (abandonedAtMs < nowMs) return { outcome: 'abandoned', owner: seen.leaseOwner };
      return { outcome: 'busy', untilMs: abandonedAtMs + 1 };
    }
    return { outcome: 'busy', untilMs: seen.nextAttemptAtMs ?? nowMs + 1000 };
  }

  async abandon(loginId: string, owner: string, reason: string, _nowMs: number) {
    this.calls.push('abandon');
    const record = this.optins.get(loginId);
    if (record?.status !== 'sending' || record.leaseOwner !== owner) return false;
    this.end(record, 'unknown', reason);
    return true;
  }

  private end(record: FakeOptin, status: OptinStatus, reason: string) {
    record.status = status;
    record.statusReason = reason;
    delete record.leaseOwner;
    delete record.leaseUntilMs;
    delete record.nextAttemptAtMs;
    delete record.sweepAt;
  }

  async attempts(claim: Claim) {
    return this.optins.get(claim.loginId)?.attempts ?? 1;
  }

  async markSent(
    claim: Claim,
    sent: { messageId?: string; recipientId?: string },
    nowMs: number,
  ): Promise<RecordOutcome> {
    this.calls.push('markSent');
    this.maybeFail('markSent');
    const facts = { ...sent, owner: claim.owner, loginId: claim.loginId, pageId: claim.pageId };
    const byHolder = this.recordSent(facts, nowMs, (old) => old.leaseOwner === claim.owner);
    if (byHolder !== 'lease_lost') return byHolder;
    return this.recordHandedOver({ ...facts, sentAtMs: nowMs }, nowMs);
  }

  async recordHandedOver(
    sent: SentFacts & { loginId: string; pageId: string; sentAtMs: number; optinAtMs?: number },
    _nowMs: number,
  ): Promise<RecordOutcome> {
    this.calls.push('recordHandedOver');
    this.maybeFail('recordHandedOver');
    const outcome = this.recordSent(
      sent,
      sent.sentAtMs,
      (old) =>
        old.status !== 'sent' && (sent.optinAtMs === undefined || old.optinAtMs === sent.optinAtMs),
    );
    if (outcome === 'lease_lost') throw new Error('the record refused the send');
    return outcome;
  }

  private recordSent(
    sent: SentFacts & { loginId: string; pageId: string; optinAtMs?: number },
    sentAtMs: number,
    condition: (old: FakeOptin) => boolean,
  ): RecordOutcome | 'lease_lost' {
    const old = this.optins.get(sent.loginId);
    if (old === undefined) return 'gone';
    if (!condition(old)) {
      if (sent.optinAtMs !== undefined && old.optinAtMs !== sent.optinAtMs) return 'gone';
      if (old.status === 'sent') {
        const same =
          sent.messageId !== undefined
            ? old.messageId === sent.messageId
            : old.sentBy === sent.owner;
        return same ? 'recorded' : 'already_sent';
      }
      return 'lease_lost';
    }
    const lockedTo = this.locks.get(sent.loginId);
    if (lockedTo === undefined) this.locks.set(sent.loginId, sent.pageId);
    Object.assign(old, {
      status: 'sent',
      sentBy: sent.owner,
      sentAtMs,
      ...(sent.messageId !== undefined ? { messageId: sent.messageId } : {}),
      ...(sent.recipientId !== undefined ? { recipientId: sent.recipientId } : {}),
      ...(lockedTo !== undefined && lockedTo !== sent.pageId ? { lockConflict: true } : {}),
    });
    this.end(old, 'sent', '');
    delete old.statusReason;
    return 'recorded';
  }

  async markRetry(claim: Claim, error: AttemptError, retryAtMs: number, _nowMs: number) {
    this.calls.push('markRetry');
    this.maybeFail('markRetry');
    const record = this.optins.get(claim.loginId);
    if (record?.leaseOwner !== claim.owner) return false;
    record.status = 'pending';
    record.nextAttemptAtMs = retryAtMs;
    record.sweepAt = iso(retryAtMs);
    record.errors.push(error);
    delete record.leaseOwner;
    delete record.leaseUntilMs;
    return true;
  }

  async finish(
    claim: Claim,
    end: { status: TerminalStatus; reason: string; error?: AttemptError; suppress?: boolean },
    _nowMs: number,
  ) {
    this.calls.push('finish');
    this.maybeFail('finish');
    const record = this.optins.get(claim.loginId);
    if (record?.leaseOwner !== claim.owner) return false;
    if (end.error) record.errors.push(end.error);
    this.end(record, end.status, end.reason);
    if (end.suppress)
      this.suppressions.set(claim.loginId, {
        reason: end.reason,
        source: 'send_api',
        ...(end.error?.code !== undefined ? { code: end.error.code } : {}),
        ...(end.error?.subcode !== undefined ? { subcode: end.error.subcode } : {}),
      });
    return true;
  }

  async settle(
    optin: OptinRef,
    end: { status: TerminalStatus; reason: string },
    nowMs: number,
  ): Promise<SettleResult> {
    this.calls.push('settle');
    const old = this.optins.get(optin.loginId);
    const notEnded = (r: FakeOptin) =>
      r.status === 'pending' || (r.status === 'sending' && (r.leaseUntilMs ?? 0) < nowMs);
    const ok = old === undefined ? optin.tombstone !== undefined : notEnded(old);
    if (ok && !this.deletedSince(optin)) {
      const record = old ?? this.create(optin);
      record.sources.add(optin.source);
      this.end(record, end.status, end.reason);
      this.optins.set(optin.loginId, record);
      return { outcome: 'recorded' };
    }
    if (this.deletedSince(optin) || old === undefined) return { outcome: 'deleted' };
    if (TERMINAL_STATUSES.has(old.status))
      return { outcome: 'done', status: old.status as TerminalStatus };
    return { outcome: 'busy', untilMs: old.leaseUntilMs ?? nowMs + 1000 };
  }

  private staleOf(record: FakeOptin): StaleOptin {
    return {
      loginId: record.loginId,
      pageId: record.pageId,
      optinAtMs: record.optinAtMs,
      receivedAtMs: record.receivedAtMs,
      source: record.sources.has('webhook') ? 'webhook' : 'login',
      status: record.status,
      sweepAt: record.sweepAt as string,
      windowEndsAtMs: record.windowEndsAtMs,
    };
  }

  private pendingIndex(): FakeOptin[] {
    return [...this.optins.values()]
      .filter((record) => record.sweepAt !== undefined)
      .sort((a, b) => (a.sweepAt as string).localeCompare(b.sweepAt as string));
  }

  async stale(beforeMs: number, limit: number) {
    return this.pendingIndex()
      .filter((record) => (record.sweepAt as string) <= iso(beforeMs))
      .slice(0, limit)
      .map((record) => this.staleOf(record));
  }

  async deferSweep(loginId: string, seenSweepAt: string, nextMs: number) {
    this.calls.push('deferSweep');
    const record = this.optins.get(loginId);
    if (record?.sweepAt !== seenSweepAt) return false;
    record.sweepAt = iso(nextMs);
    return true;
  }

  async park(
    optin: OptinRef,
    retryAtMs: number,
    waitingFor: string,
    _nowMs: number,
  ): Promise<ParkResult> {
    this.calls.push('park');
    const old = this.optins.get(optin.loginId);
    const ok =
      old === undefined
        ? optin.tombstone !== undefined
        : old.status === 'pending' && old.pageId === optin.pageId;
    if (ok && !this.deletedSince(optin)) {
      const record = old ?? this.create(optin);
      record.sources.add(optin.source);
      record.waitingFor = waitingFor;
      record.sweepAt = iso(retryAtMs);
      this.optins.set(optin.loginId, record);
      return { outcome: 'parked' };
    }
    if (this.deletedSince(optin) || old === undefined) return { outcome: 'deleted' };
    if (TERMINAL_STATUSES.has(old.status))
      return { outcome: 'done', status: old.status as TerminalStatus };
    if (old.pageId !== optin.pageId) return { outcome: 'conflict', storedPageId: old.pageId };
    return { outcome: 'busy' };
  }

  async waitingOn(pageId: string, limit: number) {
    return this.pendingIndex()
      .filter((record) => record.pageId === pageId && record.status === 'pending')
      .slice(0, limit)
      .map((record) => this.staleOf(record));
  }

  async wake(loginId: string, seenSweepAt: string, nowMs: number) {
    this.calls.push('wake');
    const record = this.optins.get(loginId);
    if (record?.sweepAt !== seenSweepAt || record.status !== 'pending') return false;
    record.sweepAt = iso(nowMs);
    delete record.nextAttemptAtMs;
    delete record.waitingFor;
    return true;
  }

  async recordEvent(job: EventJob) {
    this.events.push(job);
  }

  async recordRejected(rejected: { messageId: string; body: string; reason: string }) {
    this.rejected.push(rejected);
  }

  async recordRejectedOptin(job: RejectedOptinJob) {
    this.rejectedOptins.push(job);
  }
}
