import { nonEmptyString } from '../../../shared/json';
import { BY_OPTIN_DAY, type Item, optinsByDay } from '../../../shared/store/inspect';
import { type Context, type Outcome, shortId } from '../context';
import { formatTable } from '../table';
import { requireTable, withAws } from '../target';
import { formatLatency, msOf, relativeTime } from '../time';
import { errorView } from './inspect';

export interface ListedOptin {
  loginId: string;
  pageId?: string;
  status: string;
  statusReason?: string;
  optinAt?: string;
  windowEndsAt?: string;
  windowOpen: boolean;
  attempts: number;
  nextAttemptAt?: string;
  sentAt?: string;
  /** sentAt − optinAt. */
  latencyMs?: number;
  messageId?: string;
  receipt?: string;
  lastError?: { code?: number; subcode?: number; message?: string; at?: string };
  /** Rejected opt-ins only (they may have no valid time of their own): when it was received. */
  receivedAt?: string;
  /** Rejected opt-ins only: SHA-256 and size of the item as received. */
  itemSha256?: string;
  itemBytes?: number;
}

export interface ListView {
  since: string;
  until: string;
  status?: string;
  pageId?: string;
  limit: number;
  count: number;
  /** More opt-ins match than `limit` let through. */
  more: boolean;
  optins: ListedOptin[];
}

const str = nonEmptyString;

export function listedOptin(item: Item, nowMs: number): ListedOptin {
  const optinAtMs = msOf(item.optinAt);
  const sentAtMs = msOf(item.sentAt);
  const windowEndMs = msOf(item.windowEndsAt);
  const lastError = item.lastError ? errorView(item.lastError) : undefined;
  const row: ListedOptin = {
    loginId: String(item.loginId ?? ''),
    status: String(item.status ?? 'unknown'),
    windowOpen: windowEndMs !== undefined && windowEndMs > nowMs,
    attempts: typeof item.attempts === 'number' ? item.attempts : 0,
  };
  const optional: Partial<ListedOptin> = {
    pageId: str(item.pageId),
    statusReason: str(item.statusReason),
    optinAt: str(item.optinAt),
    windowEndsAt: str(item.windowEndsAt),
    nextAttemptAt: str(item.nextAttemptAt),
    sentAt: str(item.sentAt),
    latencyMs: optinAtMs !== undefined && sentAtMs !== undefined ? sentAtMs - optinAtMs : undefined,
    messageId: str(item.messageId),
    receipt: str(item.receipt),
    ...(item.type === 'rejected_optin'
      ? {
          receivedAt: str(item.receivedAt),
          itemSha256: str(item.itemSha256),
          itemBytes: typeof item.itemBytes === 'number' ? item.itemBytes : undefined,
        }
      : {}),
    lastError: lastError
      ? Object.fromEntries(
          Object.entries({
            code: lastError.code,
            subcode: lastError.subcode,
            message: lastError.message,
            at: lastError.at,
          }).filter(([, v]) => v !== undefined),
        )
      : undefined,
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) (row as unknown as Record<string, unknown>)[key] = value;
  return row;
}

/** `lcm list`: the newest opt-ins of the period, by day from the index, filtered. */
export async function listOptins(
  ctx: Context,
  args: { sinceMs: number; status?: string; pageId?: string; limit: number },
): Promise<Outcome<ListView>> {
  const tableName = requireTable(ctx.target);
  const items = await withAws(
    {
      actions: ['dynamodb:Query'],
      resource: `table ${tableName} (index ${BY_OPTIN_DAY})`,
      target: ctx.target,
    },
    async () => {
      const found: Item[] = [];
      // One more than asked, to tell whether there are more.
      for await (const page of optinsByDay(ctx.doc(), tableName, {
        sinceMs: args.sinceMs,
        untilMs: ctx.nowMs,
        ...(args.status ? { status: args.status } : {}),
        ...(args.pageId ? { pageId: args.pageId } : {}),
      })) {
        found.push(...page);
        ctx.progress(`read ${found.length} opt-in${found.length === 1 ? '' : 's'}`);
        if (found.length > args.limit) break;
      }
      return found;
    },
  );
  const optins = items.slice(0, args.limit).map((item) => listedOptin(item, ctx.nowMs));
  const view: ListView = {
    since: new Date(args.sinceMs).toISOString(),
    until: new Date(ctx.nowMs).toISOString(),
    ...(args.status ? { status: args.status } : {}),
    ...(args.pageId ? { pageId: args.pageId } : {}),
    limit: args.limit,
    count: optins.length,
    more: items.length > args.limit,
    optins,
  };
  return { view, render: () => renderList(view, ctx.nowMs) };
}

/** A rejection names every rule broken; the table shows its start (`--json` has it all). */
const cut = (text: string | undefined) =>
  text !== undefined && text.length > 60 ? `${text.slice(0, 59)}…` : text;

function windowCell(row: ListedOptin, nowMs: number): string {
  const endMs = msOf(row.windowEndsAt);
  if (endMs === undefined) return '';
  return endMs > nowMs
    ? `closes ${relativeTime(endMs, nowMs)}`
    : `closed ${relativeTime(endMs, nowMs)}`;
}

/** The human form of `lcm list`: one aligned row per opt-in, then a summary line. */
export function renderList(view: ListView, nowMs: number): string {
  const filters = [
    view.status ? `status ${view.status}` : undefined,
    view.pageId ? `Page ${view.pageId}` : undefined,
  ].filter(Boolean);
  const period = `since ${relativeTime(Date.parse(view.since), nowMs)} (${view.since})`;
  const scope = `${period}${filters.length > 0 ? `, ${filters.join(', ')}` : ''}`;
  if (view.optins.length === 0) return `No opt-ins ${scope}.\n`;
  const table = formatTable(
    [
      'opt-in',
      'login_id',
      'Page',
      'status',
      'reason',
      'attempts',
      'opt-in→send',
      'receipt',
      'window',
    ],
    view.optins.map((row) => {
      const optinAtMs = msOf(row.optinAt ?? row.receivedAt);
      return [
        optinAtMs === undefined ? '' : relativeTime(optinAtMs, nowMs),
        row.status === 'rejected' && row.loginId === '' ? '(none)' : shortId(row.loginId),
        row.pageId ?? '',
        row.status,
        // While an opt-in is still retrying, its last error is the reason it has not gone out.
        (row.status === 'rejected' ? cut(row.statusReason) : row.statusReason) ??
          ((row.status === 'pending' || row.status === 'sending') &&
          row.lastError?.code !== undefined
            ? `last error ${row.lastError.code}`
            : ''),
        String(row.attempts),
        row.latencyMs === undefined ? '' : formatLatency(row.latencyMs),
        row.receipt ?? '',
        windowCell(row, nowMs),
      ];
    }),
    { align: [undefined, undefined, undefined, undefined, undefined, 'right', 'right'] },
  );
  const summary = `${view.count} opt-in${view.count === 1 ? '' : 's'} ${scope}, newest first${view.more ? `; more match: raise --limit (now ${view.limit}) or narrow --since, --status, --page` : ''}.`;
  return `${table}\n\n${summary}\n`;
}
