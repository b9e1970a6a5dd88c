import type { PageState } from '../../../shared/login-connect/page-state';
import { PAGE_PAUSE_ADVICE } from '../../../shared/login-connect/reasons';
import type { PagePauseReason } from '../../../shared/login-connect/send-errors';
import { DynamoDbPageStore } from '../../../shared/store/dynamodb-page-store';
import { PAGES_KEY } from '../../../shared/store/table-definition';
import type { Context, Outcome } from '../context';
import { formatTable } from '../table';
import { readTargetSecrets, requireTable, withAws } from '../target';
import { relativeTime } from '../time';

/** One Page as `lcm pages` shows it (`--json`: ISO times, stable names). */
export interface PageView {
  pageId: string;
  /** Whether the secret has a token for it; absent when the secret could not be read. */
  configured?: boolean;
  /** `paused` while its sends wait; `sending` otherwise. */
  state: 'sending' | 'paused';
  pausedReason?: string;
  pausedSince?: string;
  /** When the next probe may go (the back-off's end). */
  nextProbeAt?: string;
  pauseCount?: number;
  /** A probe is going through the Page right now. */
  probing?: boolean;
  lastError?: {
    code?: number;
    subcode?: number;
    httpStatus?: number;
    message: string;
    at?: string;
  };
  resumedAt?: string;
  lastPausedReason?: string;
  lastOptinAt?: string;
  lastSendAt?: string;
  subscription?: {
    status: string;
    checkedAt: string;
    fields?: string[];
    missingFields?: string[];
    error?: { code?: number; httpStatus?: number; message: string };
  };
  /** When the watchdog last looked at the Page. */
  watchedAt?: string;
}

export interface PagesView {
  pages: PageView[];
  /** Set when the secret could not be read: Pages the watchdog never saw are missing. */
  note?: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** A Page's state as shown, without undefined fields. Pure. */
export function pageView(
  state: PageState,
  nowMs: number,
  configured: boolean | undefined,
): PageView {
  const view: Record<string, unknown> = {
    pageId: state.pageId,
    configured,
    state: state.pausedReason ? 'paused' : 'sending',
    pausedReason: state.pausedReason,
    pausedSince: iso(state.pausedSince),
    nextProbeAt: state.pausedReason ? iso(state.pausedUntil) : undefined,
    pauseCount: state.pausedReason ? state.pauseCount : undefined,
    probing:
      state.pausedReason && state.probeUntil !== undefined && state.probeUntil > nowMs
        ? true
        : undefined,
    lastError: state.lastError
      ? Object.fromEntries(
          Object.entries({ ...state.lastError, at: iso(state.lastError.at) }).filter(
            ([, v]) => v !== undefined,
          ),
        )
      : undefined,
    resumedAt: iso(state.resumedAt),
    lastPausedReason: state.lastPausedReason,
    lastOptinAt: iso(state.lastOptinAt),
    lastSendAt: iso(state.lastSendAt),
    subscription: state.subscription
      ? Object.fromEntries(
          Object.entries({
            ...state.subscription,
            checkedAt: iso(state.subscription.checkedAt),
          }).filter(([, v]) => v !== undefined),
        )
      : undefined,
    watchedAt: iso(state.watchedAt),
  };
  return Object.fromEntries(
    Object.entries(view).filter(([, v]) => v !== undefined),
  ) as unknown as PageView;
}

/**
 * `lcm pages`: every Page's health, from the `PAGES` partition (one Query), with the Pages of the
 * secret that have no state yet (the secret is read for its Page ids only, when it can be).
 */
export async function listPages(ctx: Context): Promise<Outcome<PagesView>> {
  const tableName = requireTable(ctx.target);
  const states = await withAws(
    {
      actions: ['dynamodb:Query'],
      resource: `table ${tableName} (partition ${PAGES_KEY})`,
      target: ctx.target,
    },
    () => new DynamoDbPageStore(ctx.doc(), tableName).list(),
  );
  let configured: Set<string> | undefined;
  let note: string | undefined;
  try {
    const read = await readTargetSecrets(ctx.target);
    if ('secrets' in read) configured = new Set(Object.keys(read.secrets.pages));
    else note = `${read.missing}: Pages the watchdog never saw are not listed`;
  } catch (error) {
    note = `the secret could not be read (${(error as Error).name}): Pages the watchdog never saw are not listed`;
  }
  const byId = new Map(states.map((state) => [state.pageId, state]));
  for (const pageId of configured ?? []) if (!byId.has(pageId)) byId.set(pageId, { pageId });
  const pages = [...byId.values()]
    .sort(
      (a, b) =>
        Number(Boolean(b.pausedReason)) - Number(Boolean(a.pausedReason)) ||
        a.pageId.localeCompare(b.pageId),
    )
    .map((state) => pageView(state, ctx.nowMs, configured?.has(state.pageId)));
  const view: PagesView = { pages, ...(note ? { note } : {}) };
  return { view, render: () => renderPages(view, ctx.nowMs) };
}

const ago = (value: string | undefined, nowMs: number) =>
  value === undefined ? '' : relativeTime(Date.parse(value), nowMs);

function subscriptionCell(page: PageView): string {
  const sub = page.subscription;
  if (sub === undefined) return 'not checked yet';
  if (sub.status === 'missing') return `MISSING ${(sub.missingFields ?? []).join(',')}`;
  if (sub.status === 'check_failed')
    return `check failed${sub.error?.code !== undefined ? ` (${sub.error.code})` : ''}`;
  return sub.status;
}

/** The human form of `lcm pages`: one row per Page, paused ones first, then what to do. */
export function renderPages(view: PagesView, nowMs: number): string {
  if (view.pages.length === 0)
    return `No Pages: the watchdog has not run yet, and no secret was read.${view.note ? `\n(${view.note})` : ''}\n`;
  const table = formatTable(
    [
      'Page',
      'state',
      'reason',
      'since',
      'next probe',
      'last opt-in',
      'last send',
      'subscription',
      'checked',
    ],
    view.pages.map((page) => [
      `${page.pageId}${page.configured === false ? ' (not in secret)' : ''}`,
      page.probing ? 'paused, probing' : page.state,
      page.pausedReason ?? '',
      ago(page.pausedSince, nowMs),
      page.nextProbeAt === undefined
        ? ''
        : Date.parse(page.nextProbeAt) <= nowMs
          ? 'due'
          : ago(page.nextProbeAt, nowMs),
      ago(page.lastOptinAt, nowMs),
      ago(page.lastSendAt, nowMs),
      subscriptionCell(page),
      ago(page.subscription?.checkedAt, nowMs),
    ]),
  );
  const lines = [table];
  const paused = view.pages.filter((page) => page.state === 'paused');
  for (const page of paused) {
    const error = page.lastError;
    const code =
      error?.code === undefined
        ? ''
        : `${error.code}${error.subcode !== undefined ? `/${error.subcode}` : ''} `;
    lines.push(
      '',
      `Page ${page.pageId} is paused (${page.pausedReason}, pause ${page.pauseCount ?? 1} in a row): its opt-ins wait, pending, while their windows are open.`,
      ...(error ? [`  last error  ${code}${error.message}`] : []),
      `  do          ${PAGE_PAUSE_ADVICE[page.pausedReason as PagePauseReason] ?? 'wait for the next probe'}`,
    );
  }
  for (const page of view.pages.filter((p) => p.subscription?.status === 'missing'))
    lines.push(
      '',
      `Page ${page.pageId}: the app is not subscribed to ${(page.subscription?.missingFields ?? []).join(', ')} and the watchdog could not subscribe it (${page.subscription?.error?.message ?? 'refused'}): subscribe the app in the Page's settings, or give the token pages_manage_metadata.`,
    );
  if (view.note) lines.push('', `(${view.note})`);
  return `${lines.join('\n')}\n`;
}
