/**
 * The emulator's state: what the control API sets and shows, and what the rules read. The
 * methods mirror the control API for in-process use; `GraphEmulator` serves them over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { DAY_MS, DEFAULT_SUBSCRIBED_FIELDS } from './constants';
import { tokenDigest } from './credentials';
import {
  DEFAULT_FLAKY_FAULTS,
  drawFault,
  type Fault,
  type FaultInput,
  FaultInputSchema,
  type Flaky,
  type FlakyInput,
  FlakyInputSchema,
  faultEffect,
  seededRandom,
  takeFault,
} from './faults';
import {
  DropInputSchema,
  OptinInputSchema,
  OptoutInputSchema,
  PageOnlySchema,
  PermissionsInputSchema,
  parseInput,
  RestrictionInputSchema,
  SubscriptionInputSchema,
  UsageInputSchema,
  UserMessageInputSchema,
} from './inputs';
import { type MutableRulesState, psidKey } from './rules';
import {
  EmulatorInputError,
  type EmulatorState,
  type GraphEmulatorOptions,
  type KnownPsid,
  type Optin,
  type OptinInput,
  type Optout,
  type OptoutInput,
  type PermissionsInput,
  type RecordedMessage,
  type RecordedRequest,
  type Restriction,
  type Subscription,
  type SubscriptionInput,
  type UsageInput,
  type UsageNumbers,
  type UserMessage,
  type UserMessageInput,
} from './types';

export class EmulatorStore {
  /** The emulator's clock, epoch ms. */
  readonly now: () => number;
  /** Sends and subscription calls without `appsecret_proof` are refused. */
  readonly requireProof: boolean;
  /** The secret document, read on every call so that edits apply at once. */
  readonly secrets: GraphEmulatorOptions['secrets'];
  private readonly onRequest: GraphEmulatorOptions['onRequest'];
  private readonly optins = new Map<string, Optin>();
  private optouts: Optout[] = [];
  /** By psidKey: the latest user message of each PSID to each Page. */
  private readonly userMessages = new Map<string, UserMessage>();
  /** By psidKey: the PSIDs each Page knows. */
  private readonly psids = new Map<string, KnownPsid>();
  private faults: Fault[] = [];
  private flaky: { setting: Flaky; random: () => number } | undefined;
  private sent: RecordedMessage[] = [];
  private seen: RecordedRequest[] = [];
  private readonly permissions = new Map<string, Required<PermissionsInput>>();
  private readonly restrictions = new Map<string, Restriction>();
  /** By Page: SHA-256 of each revoked token (never the token). */
  private readonly revoked = new Map<string, Set<string>>();
  private appUsage: UsageNumbers | undefined;
  private readonly pageUsage = new Map<string, UsageNumbers>();
  /** Pages whose subscription the control API set; the others have the default one. */
  private readonly subscriptions = new Map<string, Subscription>();
  private nextFaultId = 1;

  protected constructor(options: GraphEmulatorOptions) {
    this.now = options.now ?? Date.now;
    this.requireProof = options.requireAppSecretProof ?? true;
    this.secrets = options.secrets;
    this.onRequest = options.onRequest;
  }

  /** Registers (or re-registers, clearing the lock) an opt-in, as a `messaging_optins` does. */
  registerOptin(input: OptinInput): Optin {
    const { loginId, pageId, timestamp } = parseInput(OptinInputSchema, input, 'optin');
    const optedInAt = timestamp ?? this.now();
    const optin: Optin = { loginId, pageId, optedInAt, windowClosesAt: optedInAt + DAY_MS };
    this.optins.set(loginId, optin);
    return { ...optin };
  }

  /**
   * The person turns off messages (from one Page, or all Pages): later sends to that login_id or
   * PSID, and to the identifier linked to it, get code 551.
   */
  registerOptout(input: OptoutInput): Optout {
    const { loginId, psid, pageId } = parseInput(OptoutInputSchema, input, 'optout');
    const who = loginId !== undefined ? { loginId } : { psid: psid ?? '' };
    const optout: Optout = { ...who, ...(pageId !== undefined ? { pageId } : {}) };
    this.optouts.push(optout);
    return { ...optout };
  }

  /**
   * The person sent a message to the Page: the PSID becomes known to it and may get UPDATE and
   * RESPONSE messages for 24 h from the latest such message (an older one does not move it back).
   */
  registerUserMessage(input: UserMessageInput): UserMessage {
    const { psid, pageId, timestamp } = parseInput(UserMessageInputSchema, input, 'userMessage');
    const at = timestamp ?? this.now();
    const key = psidKey(pageId, psid);
    const previous = this.userMessages.get(key);
    const lastMessageAt = Math.max(at, previous?.lastMessageAt ?? at);
    const entry: UserMessage = {
      psid,
      pageId,
      lastMessageAt,
      windowClosesAt: lastMessageAt + DAY_MS,
    };
    this.userMessages.set(key, entry);
    if (!this.psids.has(key)) this.psids.set(key, { psid, pageId });
    return { ...entry };
  }

  /** Queues a fault for the next matching send request(s); see README.md. */
  addFault(input: FaultInput): Fault {
    const f = parseInput(FaultInputSchema, input, 'fault');
    const fault: Fault = {
      id: this.nextFaultId++,
      ...(f.loginId ? { loginId: f.loginId } : {}),
      ...(f.pageId ? { pageId: f.pageId } : {}),
      remaining: f.times,
      ...faultEffect(f),
    };
    this.faults.push(fault);
    return structuredClone(fault);
  }

  /**
   * From now on, a share `rate` of the send requests meets one of `faults` (see the file
   * comment); replaces an earlier setting.
   */
  setFlaky(input: FlakyInput): Flaky {
    const f = parseInput(FlakyInputSchema, input, 'flaky');
    const faults =
      f.faults ??
      parseInput(FlakyInputSchema, { rate: 0, faults: DEFAULT_FLAKY_FAULTS }, '').faults;
    const seed = f.seed ?? randomBytes(4).readInt32LE(0);
    const setting: Flaky = {
      rate: f.rate,
      faults: (faults ?? []).map(({ weight, ...effect }) => ({ weight, ...faultEffect(effect) })),
      seed,
    };
    this.flaky = { setting, random: seededRandom(seed) };
    return structuredClone(setting);
  }

  /** Turns the flaky setting off; true when one was on. */
  clearFlaky(): boolean {
    const was = this.flaky !== undefined;
    this.flaky = undefined;
    return was;
  }

  /** Drops every pending fault; returns how many there were. */
  clearFaults(): number {
    const cleared = this.faults.length;
    this.faults = [];
    return cleared;
  }

  /** What `GET /{version}/{userId}/permissions` answers for this user. */
  setPermissions(input: PermissionsInput): Required<PermissionsInput> {
    const entry = parseInput(PermissionsInputSchema, input, 'permissions');
    this.permissions.set(entry.userId, entry);
    return structuredClone(entry);
  }

  /** Meta restricts the Page from sending, until `untilMs` or until cleared. */
  restrictPage(input: { pageId: string | number; untilMs?: number }): Restriction {
    const { pageId, untilMs } = parseInput(RestrictionInputSchema, input, 'restriction');
    const restriction: Restriction = { pageId, ...(untilMs !== undefined ? { untilMs } : {}) };
    this.restrictions.set(pageId, restriction);
    return { ...restriction };
  }

  /** Lifts the restriction of one Page, or of every Page; returns how many were lifted. */
  clearRestrictions(pageId?: string): number {
    if (pageId === undefined) {
      const cleared = this.restrictions.size;
      this.restrictions.clear();
      return cleared;
    }
    return this.restrictions.delete(pageId) ? 1 : 0;
  }

  /** Revokes the token the secret holds for the Page now: every call with it gets 190/460. */
  async revokeToken(input: {
    pageId: string | number;
  }): Promise<{ pageId: string; revoked: true }> {
    const { pageId } = parseInput(PageOnlySchema, input, 'revokedToken');
    const token = (await this.secrets()).pages[pageId]?.accessToken;
    if (token === undefined)
      throw new EmulatorInputError(`No token for Page ${pageId} in the secret`);
    const set = this.revoked.get(pageId) ?? new Set<string>();
    set.add(tokenDigest(token));
    this.revoked.set(pageId, set);
    return { pageId, revoked: true };
  }

  clearRevokedTokens(): number {
    const cleared = [...this.revoked.values()].reduce((n, set) => n + set.size, 0);
    this.revoked.clear();
    return cleared;
  }

  /** What the usage headers say from now on (for one Page's Business Use Case entry, the app's). */
  setUsage(input: UsageInput): EmulatorState['usage'] {
    const { pageId, app, business } = parseInput(UsageInputSchema, input, 'usage');
    if (app !== undefined) this.appUsage = app;
    if (business !== undefined && pageId !== undefined) this.pageUsage.set(pageId, business);
    return this.state().usage;
  }

  clearUsage(): number {
    const cleared = this.pageUsage.size + (this.appUsage ? 1 : 0);
    this.appUsage = undefined;
    this.pageUsage.clear();
    return cleared;
  }

  /** Sets the app's subscription to a Page's webhooks (see README.md). */
  setSubscription(input: SubscriptionInput): Subscription {
    const { pageId, fields, refuseSubscribe } = parseInput(
      SubscriptionInputSchema,
      input,
      'subscription',
    );
    const subscription: Subscription = {
      pageId,
      fields: [...new Set(fields ?? DEFAULT_SUBSCRIBED_FIELDS)],
      refuseSubscribe: refuseSubscribe ?? false,
    };
    this.subscriptions.set(pageId, subscription);
    return structuredClone(subscription);
  }

  /** Facebook unsubscribes the app from the Page (its webhooks failed for too long). */
  dropSubscription(input: { pageId: string | number; refuseSubscribe?: boolean }): Subscription {
    const { pageId, refuseSubscribe } = parseInput(DropInputSchema, input, 'drop');
    return this.setSubscription({ pageId, fields: [], refuseSubscribe: refuseSubscribe ?? false });
  }

  /** The app's subscription to the Page's webhooks now. */
  subscription(pageId: string): Subscription {
    return structuredClone(
      this.subscriptions.get(pageId) ?? {
        pageId,
        fields: DEFAULT_SUBSCRIBED_FIELDS,
        refuseSubscribe: false,
      },
    );
  }

  /**
   * Accepted messages, oldest first, optionally for one login_id, one PSID (sends to
   * `recipient.id` only) and/or one Page.
   */
  messages(filter: { loginId?: string; psid?: string; pageId?: string } = {}): RecordedMessage[] {
    return structuredClone(
      this.sent.filter(
        (m) =>
          (filter.loginId === undefined || m.recipient.login_id === filter.loginId) &&
          (filter.psid === undefined || m.recipient.id === filter.psid) &&
          (filter.pageId === undefined || m.pageId === filter.pageId),
      ),
    );
  }

  /** Every send request seen, oldest first, without tokens or proofs. */
  requests(): RecordedRequest[] {
    return structuredClone(this.seen);
  }

  state(): EmulatorState {
    const optins = [...this.optins.values()];
    return structuredClone({
      optins,
      locks: optins.flatMap((o) =>
        o.lockedAt === undefined
          ? []
          : [{ loginId: o.loginId, pageId: o.pageId, lockedAt: o.lockedAt }],
      ),
      optouts: this.optouts,
      userMessages: [...this.userMessages.values()],
      psids: [...this.psids.values()],
      faults: this.faults,
      flaky: this.flaky?.setting ?? null,
      permissions: [...this.permissions.values()],
      restrictions: [...this.restrictions.values()],
      revokedTokens: [...this.revoked].map(([pageId, set]) => ({ pageId, count: set.size })),
      usage: {
        ...(this.appUsage ? { app: this.appUsage } : {}),
        pages: [...this.pageUsage].map(([pageId, business]) => ({ pageId, business })),
      },
      subscriptions: [...this.subscriptions.values()],
    });
  }

  /**
   * Forgets opt-ins, locks, opt-outs, user messages, known PSIDs, faults, the flaky setting,
   * permissions, records.
   */
  reset(): void {
    this.optins.clear();
    this.optouts = [];
    this.userMessages.clear();
    this.psids.clear();
    this.faults = [];
    this.flaky = undefined;
    this.sent = [];
    this.seen = [];
    this.permissions.clear();
    this.restrictions.clear();
    this.revoked.clear();
    this.appUsage = undefined;
    this.pageUsage.clear();
    this.subscriptions.clear();
  }

  /** Graph's usage headers for an answer to a call with this Page's token. */
  usageHeaders(pageId: string): Record<string, string> {
    const zero = { call_count: 0, total_cputime: 0, total_time: 0 };
    return {
      'x-app-usage': JSON.stringify(this.appUsage ?? zero),
      'x-business-use-case-usage': JSON.stringify({
        [pageId]: [
          this.pageUsage.get(pageId) ?? {
            type: 'messenger',
            ...zero,
            estimated_time_to_regain_access: 0,
          },
        ],
      }),
    };
  }

  isRevoked(pageId: string, token: string): boolean {
    return this.revoked.get(pageId)?.has(tokenDigest(token)) ?? false;
  }

  /** The Page is restricted now; a restriction that ended is lifted. */
  isRestricted(pageId: string): boolean {
    const restriction = this.restrictions.get(pageId);
    if (restriction === undefined) return false;
    if (restriction.untilMs !== undefined && this.now() >= restriction.untilMs) {
      this.restrictions.delete(pageId);
      return false;
    }
    return true;
  }

  // What the routes use; not part of the control API.

  /** What the send rules read and change (rules.ts). */
  rulesState(): MutableRulesState {
    const { optins, optouts, userMessages, psids, sent } = this;
    return { optins, optouts, userMessages, psids, sent };
  }

  /** Keeps the record of a Page-token call and hands a copy to `onRequest`. */
  record(entry: RecordedRequest): void {
    this.seen.push(entry);
    this.onRequest?.(structuredClone(entry));
  }

  /** What `GET /{version}/{userId}/permissions` answers, if the control API set it. */
  permissionsOf(userId: string): Required<PermissionsInput> | undefined {
    return this.permissions.get(userId);
  }

  /** The Page subscribes the app (POST subscribed_apps with its token). */
  subscribe(pageId: string, fields: string[]): void {
    this.subscriptions.set(pageId, {
      pageId,
      fields: [...new Set(fields)],
      refuseSubscribe: false,
    });
  }

  /** The queued fault for this request, else maybe one drawn by the flaky setting. */
  faultFor(
    pageId: string,
    loginId: string | undefined,
  ): { queued?: Fault; flaky?: Pick<Fault, 'delayMs' | 'deliverOnAbort' | 'reply'> } {
    const queued = takeFault(this.faults, pageId, loginId);
    if (queued) return { queued };
    const flaky = this.flaky ? drawFault(this.flaky.setting, this.flaky.random) : undefined;
    return flaky ? { flaky } : {};
  }
}
