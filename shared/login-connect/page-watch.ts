import type { SubscribedAppsClient } from '../graph/ports';
import { REQUIRED_PAGE_FIELDS } from '../graph/subscribed-apps';
import type { Log, MetricsRecorder } from '../observability';
import type { AppSecrets } from '../secrets';
import type { PageStateStore } from '../store/page-store';
import type { PageState, SubscriptionCheck } from './page-state';
import type { PagePauseReason } from './send-errors';

/**
 * The Page watchdog, on a schedule. Facebook unsubscribes an app from a Page whose webhooks keep
 * failing (reference 1.4), and then nothing arrives and nobody notices. For each Page in the
 * secret it checks that the app is still subscribed with every field we need, subscribes it again
 * when the Page token allows it, and notes the newest opt-in and send it sees, so a Page that
 * received opt-ins and then none for too long raises an alarm.
 */

export interface PageWatchDeps {
  pages: PageStateStore;
  secrets: () => Promise<AppSecrets>;
  subscriptions: SubscribedAppsClient;
  /** Opt-in records made between the two times (the `byOptinDay` index), a page at a time. */
  recentOptins(sinceMs: number, untilMs: number): AsyncIterable<Record<string, unknown>[]>;
  now: () => number;
}

export interface PageWatchOptions {
  /** How far back each run reads opt-ins: a little more than two runs apart. */
  lookbackMs: number;
  /** A Page that received opt-ins and then none for this long is reported silent. */
  silenceMs: number;
}

/** What the watchdog found of one Page. */
export interface WatchedPage {
  pageId: string;
  /** In the secret (else only its state is known: a Page removed from the secret). */
  configured: boolean;
  subscription?: SubscriptionCheck;
  pausedReason?: PagePauseReason;
  pausedSince?: number;
  lastOptinAt?: number;
  lastSendAt?: number;
  /** Set when the Page is silent: how long since its last opt-in. */
  silentForMs?: number;
}

export interface PageWatchResult {
  checkedAt: number;
  pages: WatchedPage[];
}

/** The newest opt-in received, and the newest first message sent, per Page, in what was read. */
export async function latestActivity(
  pages: AsyncIterable<Record<string, unknown>[]>,
): Promise<Map<string, { lastOptinAt?: number; lastSendAt?: number }>> {
  const activity = new Map<string, { lastOptinAt?: number; lastSendAt?: number }>();
  const time = (value: unknown) => {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    return Number.isNaN(ms) ? undefined : ms;
  };
  for await (const items of pages) {
    for (const item of items) {
      if (typeof item.pageId !== 'string') continue;
      const seen = activity.get(item.pageId) ?? {};
      // A rejected opt-in still proves that the Page's webhooks reach us.
      const received = time(item.receivedAt) ?? time(item.optinAt);
      if (received !== undefined && received > (seen.lastOptinAt ?? 0)) seen.lastOptinAt = received;
      const sent = item.status === 'sent' ? time(item.sentAt) : undefined;
      if (sent !== undefined && sent > (seen.lastSendAt ?? 0)) seen.lastSendAt = sent;
      activity.set(item.pageId, seen);
    }
  }
  return activity;
}

/**
 * Checks the app's subscription to one Page, and subscribes it again with every field it had and
 * every field we need when one is missing. Never throws.
 */
export async function checkSubscription(
  pageId: string,
  accessToken: string,
  appSecret: string,
  client: SubscribedAppsClient,
  nowMs: number,
): Promise<SubscriptionCheck> {
  const errorOf = (f: {
    code?: number;
    subcode?: number;
    httpStatus?: number;
    message: string;
  }) => ({
    ...(f.code !== undefined ? { code: f.code } : {}),
    ...(f.subcode !== undefined ? { subcode: f.subcode } : {}),
    ...(f.httpStatus !== undefined ? { httpStatus: f.httpStatus } : {}),
    message: f.message,
  });
  let listed: Awaited<ReturnType<SubscribedAppsClient['list']>>;
  try {
    listed = await client.list(pageId, accessToken, appSecret);
  } catch (error) {
    return { checkedAt: nowMs, status: 'check_failed', error: { message: String(error) } };
  }
  if (!listed.ok)
    return { checkedAt: nowMs, status: 'check_failed', error: errorOf(listed.failure) };
  // Read with our Page token, the edge answers our app's subscription (Graph reference: "the
  // Webhooks an app is subscribed to for a Facebook Page").
  const fields = [...new Set(listed.apps.flatMap((app) => app.fields))].sort();
  const missingFields = REQUIRED_PAGE_FIELDS.filter((f) => !fields.includes(f));
  if (missingFields.length === 0) return { checkedAt: nowMs, status: 'ok', fields };
  const wanted = [...new Set([...fields, ...REQUIRED_PAGE_FIELDS])].sort();
  let subscribed: Awaited<ReturnType<SubscribedAppsClient['subscribe']>>;
  try {
    subscribed = await client.subscribe(pageId, wanted, accessToken, appSecret);
  } catch (error) {
    subscribed = { ok: false, failure: { message: String(error) } };
  }
  if (subscribed.ok)
    return { checkedAt: nowMs, status: 'resubscribed', fields: wanted, missingFields };
  return {
    checkedAt: nowMs,
    status: 'missing',
    fields,
    missingFields,
    error: errorOf(subscribed.failure),
  };
}

/** Pages checked at once (each check is up to two Graph calls). */
const WATCH_CONCURRENCY = 5;

/** One run of the watchdog: every Page of the secret, and every Page with a state. */
export async function watchPages(
  deps: PageWatchDeps,
  options: PageWatchOptions,
): Promise<PageWatchResult> {
  const nowMs = deps.now();
  const secrets = await deps.secrets();
  const states = new Map<string, PageState>(
    (await deps.pages.list()).map((state) => [state.pageId, state]),
  );
  const activity = await latestActivity(deps.recentOptins(nowMs - options.lookbackMs, nowMs));
  const pages: WatchedPage[] = [];

  const watchOne = async ([pageId, page]: [string, { accessToken: string }]) => {
    const state = states.get(pageId);
    const seen = activity.get(pageId) ?? {};
    const newer = (a: number | undefined, b: number | undefined) =>
      a !== undefined && (b === undefined || a > b) ? a : undefined;
    const lastOptinAt = newer(seen.lastOptinAt, state?.lastOptinAt);
    const lastSendAt = newer(seen.lastSendAt, state?.lastSendAt);
    const subscription = await checkSubscription(
      pageId,
      page.accessToken,
      secrets.appSecret,
      deps.subscriptions,
      nowMs,
    );
    await deps.pages.recordWatch(
      pageId,
      {
        ...(lastOptinAt !== undefined ? { lastOptinAt } : {}),
        ...(lastSendAt !== undefined ? { lastSendAt } : {}),
        subscription,
      },
      nowMs,
    );
    return watched(
      {
        ...state,
        pageId,
        lastOptinAt: lastOptinAt ?? state?.lastOptinAt,
        lastSendAt: lastSendAt ?? state?.lastSendAt,
      },
      true,
      subscription,
      nowMs,
      options,
    );
  };
  // A few Pages at a time: each check may wait for Graph up to its timeout, twice.
  const configured = Object.entries(secrets.pages);
  for (let i = 0; i < configured.length; i += WATCH_CONCURRENCY)
    pages.push(...(await Promise.all(configured.slice(i, i + WATCH_CONCURRENCY).map(watchOne))));
  for (const [pageId, state] of states) {
    if (Object.hasOwn(secrets.pages, pageId)) continue;
    pages.push(watched(state, false, state.subscription, nowMs, options));
  }
  return { checkedAt: nowMs, pages };
}

function watched(
  state: PageState,
  configured: boolean,
  subscription: SubscriptionCheck | undefined,
  nowMs: number,
  options: PageWatchOptions,
): WatchedPage {
  const silentForMs =
    configured && state.lastOptinAt !== undefined && nowMs - state.lastOptinAt > options.silenceMs
      ? nowMs - state.lastOptinAt
      : undefined;
  return {
    pageId: state.pageId,
    configured,
    ...(subscription ? { subscription } : {}),
    ...(state.pausedReason ? { pausedReason: state.pausedReason } : {}),
    ...(state.pausedSince !== undefined ? { pausedSince: state.pausedSince } : {}),
    ...(state.lastOptinAt !== undefined ? { lastOptinAt: state.lastOptinAt } : {}),
    ...(state.lastSendAt !== undefined ? { lastSendAt: state.lastSendAt } : {}),
    ...(silentForMs !== undefined ? { silentForMs } : {}),
  };
}

/** The parts of the Powertools logger and metrics the watchdog uses. */
export type WatchLog = Log;
export type WatchMetrics = Pick<MetricsRecorder, 'count'>;

/** The counts of a run, as the metrics and the handler's answer give them. */
export interface WatchSummary {
  pages: number;
  resubscribed: number;
  subscriptionMissing: number;
  checkFailed: number;
  silent: number;
  paused: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * Logs and counts what a run found. The alarms read `PageSubscriptionMissing`,
 * `PageOptinsSilent` and `PagesPaused` (a gauge, sent every run, zero included).
 */
export function reportWatch(
  result: PageWatchResult,
  out: { log: WatchLog; metrics: WatchMetrics },
): WatchSummary {
  const summary: WatchSummary = {
    pages: result.pages.length,
    resubscribed: 0,
    subscriptionMissing: 0,
    checkFailed: 0,
    silent: 0,
    paused: 0,
  };
  for (const page of result.pages) {
    const facts = { pageId: page.pageId };
    const sub = page.subscription;
    if (page.configured && sub?.status === 'resubscribed') {
      summary.resubscribed += 1;
      out.log.warn('Page was not subscribed to every webhook field we need: subscribed again', {
        ...facts,
        missingFields: sub.missingFields,
        fields: sub.fields,
      });
    }
    if (page.configured && sub?.status === 'missing') {
      summary.subscriptionMissing += 1;
      out.log.error(
        'PAGE NOT SUBSCRIBED: the app is not subscribed to this Page with every field we need, and could not subscribe it again; its opt-ins do not reach us',
        { ...facts, missingFields: sub.missingFields, fields: sub.fields, error: sub.error },
      );
    }
    if (page.configured && sub?.status === 'check_failed') {
      summary.checkFailed += 1;
      if (sub.error?.code === 190) {
        out.metrics.count('PageTokenInvalid');
        out.log.error(
          'PAGE TOKEN INVALID: Graph refused the Page token of this Page; put a new one under pages.<PAGE_ID>.accessToken in the secret',
          { ...facts, error: sub.error },
        );
      } else
        out.log.warn("the Page's subscription could not be checked", {
          ...facts,
          error: sub.error,
        });
    }
    if (page.silentForMs !== undefined) {
      summary.silent += 1;
      out.log.error(
        'NO OPT-INS FROM PAGE: it received opt-ins before and none for longer than the limit; check its webhook subscription and the Login Connect setup',
        {
          ...facts,
          lastOptinAt: iso(page.lastOptinAt),
          silentForHours: Math.round((page.silentForMs / 3_600_000) * 10) / 10,
        },
      );
    }
    if (page.pausedReason !== undefined) {
      summary.paused += 1;
      out.log.warn('Page is paused', {
        ...facts,
        reason: page.pausedReason,
        pausedSince: iso(page.pausedSince),
      });
    }
  }
  out.metrics.count('PageResubscribed', summary.resubscribed);
  out.metrics.count('PageSubscriptionMissing', summary.subscriptionMissing);
  out.metrics.count('PageSubscriptionCheckFailed', summary.checkFailed);
  out.metrics.count('PageOptinsSilent', summary.silent);
  out.metrics.count('PagesPaused', summary.paused);
  return summary;
}
