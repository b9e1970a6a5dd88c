import { BY_OPTIN_DAY, type Item, optinsByDay } from '../../../shared/store/inspect';
import { OPTIN_STATUSES } from '../args';
import type { Context, Outcome } from '../context';
import { formatTable } from '../table';
import { requireTable, withAws } from '../target';
import { formatLatency, msOf, relativeTime } from '../time';

export interface LatencySummary {
  /** How many sent opt-ins the percentiles are over. */
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface StatsView {
  since: string;
  until: string;
  pageId?: string;
  total: number;
  /** Every status, zeros included, so scripts can rely on the keys. */
  byStatus: Record<string, number>;
  byPage: Array<{ pageId: string; total: number; byStatus: Record<string, number> }>;
  /** Opt-in→send latency in ms (sentAt − optinAt) of the sent opt-ins. */
  latencyMs: LatencySummary;
}

/**
 * The nearest-rank percentile: the smallest value with at least p % of the values at or below it.
 * Undefined for no values.
 */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

const zeros = () =>
  Object.fromEntries(OPTIN_STATUSES.map((status) => [status, 0])) as Record<string, number>;

/** Counts and latencies over opt-in records. Pure. */
export function summarize(
  items: Item[],
  period: { sinceMs: number; untilMs: number; pageId?: string },
): StatsView {
  const byStatus = zeros();
  const pages = new Map<string, Record<string, number>>();
  const latencies: number[] = [];
  for (const item of items) {
    const status = String(item.status ?? 'unknown');
    const pageId = String(item.pageId ?? 'unknown');
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const page = pages.get(pageId) ?? zeros();
    page[status] = (page[status] ?? 0) + 1;
    pages.set(pageId, page);
    const optinAtMs = msOf(item.optinAt);
    const sentAtMs = msOf(item.sentAt);
    if (status === 'sent' && optinAtMs !== undefined && sentAtMs !== undefined)
      latencies.push(sentAtMs - optinAtMs);
  }
  const sum = (counts: Record<string, number>) =>
    Object.values(counts).reduce((total, n) => total + n, 0);
  const or = (value: number | undefined) => (value === undefined ? null : value);
  return {
    since: new Date(period.sinceMs).toISOString(),
    until: new Date(period.untilMs).toISOString(),
    ...(period.pageId ? { pageId: period.pageId } : {}),
    total: items.length,
    byStatus,
    byPage: [...pages]
      .map(([pageId, counts]) => ({ pageId, total: sum(counts), byStatus: counts }))
      .sort((a, b) => b.total - a.total || a.pageId.localeCompare(b.pageId)),
    latencyMs: {
      count: latencies.length,
      p50: or(percentile(latencies, 50)),
      p90: or(percentile(latencies, 90)),
      p99: or(percentile(latencies, 99)),
      max: latencies.length === 0 ? null : Math.max(...latencies),
    },
  };
}

/** `lcm stats`: every opt-in of the period from the index, counted. */
export async function optinStats(
  ctx: Context,
  args: { sinceMs: number; pageId?: string },
): Promise<Outcome<StatsView>> {
  const tableName = requireTable(ctx.target);
  const items = await withAws(
    {
      actions: ['dynamodb:Query'],
      resource: `table ${tableName} (index ${BY_OPTIN_DAY})`,
      target: ctx.target,
    },
    async () => {
      const found: Item[] = [];
      for await (const page of optinsByDay(ctx.doc(), tableName, {
        sinceMs: args.sinceMs,
        untilMs: ctx.nowMs,
        newestFirst: false,
        ...(args.pageId ? { pageId: args.pageId } : {}),
      })) {
        found.push(...page);
        ctx.progress(`read ${found.length} opt-in${found.length === 1 ? '' : 's'}`);
      }
      return found;
    },
  );
  const view = summarize(items, {
    sinceMs: args.sinceMs,
    untilMs: ctx.nowMs,
    ...(args.pageId ? { pageId: args.pageId } : {}),
  });
  return { view, render: () => renderStats(view, ctx.nowMs) };
}

/** The human form of `lcm stats`: statuses, Pages, then the latency line. */
export function renderStats(view: StatsView, nowMs: number): string {
  const scope = `since ${relativeTime(Date.parse(view.since), nowMs)} (${view.since}), ${view.pageId ? `Page ${view.pageId}` : 'all Pages'}`;
  const lines = [`${view.total} opt-in${view.total === 1 ? '' : 's'} ${scope}`];
  if (view.total === 0) return `${lines[0]}\n`;
  const share = (n: number) => `${Math.round((100 * n) / view.total)} %`;
  lines.push(
    '',
    formatTable(
      ['status', 'count', 'share'],
      Object.entries(view.byStatus).map(([status, n]) => [status, String(n), share(n)]),
      { align: [undefined, 'right', 'right'] },
    ),
  );
  // Only the statuses that occur get a column: seven mostly-zero columns hide the point.
  const seen = Object.keys(view.byStatus).filter((status) => (view.byStatus[status] ?? 0) > 0);
  lines.push(
    '',
    formatTable(
      ['Page', 'total', ...seen],
      view.byPage.map((page) => [
        page.pageId,
        String(page.total),
        ...seen.map((status) => String(page.byStatus[status] ?? 0)),
      ]),
      { align: [undefined, ...Array.from({ length: seen.length + 1 }, () => 'right' as const)] },
    ),
  );
  const l = view.latencyMs;
  const ms = (value: number | null) => (value === null ? '-' : formatLatency(value));
  lines.push(
    '',
    l.count === 0
      ? 'opt-in→send: nothing sent in the period'
      : `opt-in→send (${l.count} sent): p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`,
  );
  return `${lines.join('\n')}\n`;
}
