import { isObject } from '../json';
/**
 * Graph's usage headers (reference `messenger-platform.md` 7.4). Calls with a Page token fall
 * under Business Use Case limits, reported in `X-Business-Use-Case-Usage`: JSON keyed by the
 * business object (the Page), each an array of `{ type, call_count, total_cputime, total_time,
 * estimated_time_to_regain_access }`. `X-App-Usage` reports the app's platform limits as
 * `{ call_count, total_cputime, total_time }`. The counts are percentages (throttled at 100);
 * `estimated_time_to_regain_access` is in minutes.
 */
import type { GraphUsage, UsageEntry } from './ports';

/** Headers beyond this length are not read: Graph's hold at most 32 objects. */
const MAX_HEADER_LENGTH = 16_384;

const FIELDS: ReadonlyArray<readonly [string, keyof Omit<UsageEntry, 'type'>]> = [
  ['call_count', 'callCount'],
  ['total_cputime', 'totalCputime'],
  ['total_time', 'totalTime'],
  ['estimated_time_to_regain_access', 'regainAccessMinutes'],
];

function number(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function entryOf(raw: unknown): UsageEntry | undefined {
  if (!isObject(raw)) return undefined;
  const entry: UsageEntry = {};
  if (typeof raw.type === 'string' && raw.type.length <= 64) entry.type = raw.type;
  for (const [from, to] of FIELDS) {
    const value = number(raw[from]);
    if (value !== undefined) entry[to] = value;
  }
  return Object.keys(entry).length > 0 ? entry : undefined;
}

function json(text: string | null): unknown {
  if (text === null || text === '' || text.length > MAX_HEADER_LENGTH) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The usage Graph reported on an answer, from its headers; undefined when it reported none.
 * Lenient: a malformed header, or a malformed part of one, is left out rather than failing.
 */
export function parseUsageHeaders(get: (name: string) => string | null): GraphUsage | undefined {
  const usage: GraphUsage = {};
  const app = entryOf(json(get('x-app-usage')));
  if (app) usage.app = app;
  const buc = json(get('x-business-use-case-usage'));
  if (isObject(buc)) {
    const business: Record<string, UsageEntry[]> = {};
    for (const [id, list] of Object.entries(buc)) {
      if (!/^\d{1,32}$/.test(id)) continue;
      const entries = (Array.isArray(list) ? list : [list])
        .map(entryOf)
        .filter((e): e is UsageEntry => e !== undefined);
      if (entries.length > 0) business[id] = entries;
    }
    if (Object.keys(business).length > 0) usage.business = business;
  }
  return usage.app || usage.business ? usage : undefined;
}

/** The Business Use Case entries about `pageId`, or every entry when the header names no such id. */
function pageEntries(usage: GraphUsage, pageId: string): UsageEntry[] {
  const business = usage.business ?? {};
  return business[pageId] ?? Object.values(business).flat();
}

/**
 * How long until Graph accepts calls for this Page again, in ms, from
 * `estimated_time_to_regain_access` (the largest the headers give); undefined when none says.
 */
export function regainAccessMs(usage: GraphUsage | undefined, pageId: string): number | undefined {
  if (usage === undefined) return undefined;
  const minutes = [...pageEntries(usage, pageId), ...(usage.app ? [usage.app] : [])]
    .map((e) => e.regainAccessMinutes)
    .filter((m): m is number => m !== undefined);
  return minutes.length === 0 ? undefined : Math.max(...minutes) * 60_000;
}

/** The highest percentage of any limit the headers report for this Page (and the app). */
export function highestUsagePercent(
  usage: GraphUsage | undefined,
  pageId: string,
): number | undefined {
  if (usage === undefined) return undefined;
  const values = [...pageEntries(usage, pageId), ...(usage.app ? [usage.app] : [])].flatMap((e) =>
    [e.callCount, e.totalCputime, e.totalTime].filter((v): v is number => v !== undefined),
  );
  return values.length === 0 ? undefined : Math.max(...values);
}
