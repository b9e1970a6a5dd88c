import { UsageError } from './errors';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: SECOND_MS,
  m: MINUTE_MS,
  min: MINUTE_MS,
  h: HOUR_MS,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

/**
 * A duration such as `90s`, `30m`, `24h`, `7d`, `2w` or `1h30m`, in ms; undefined if the text is
 * not one. Each part is a whole number and a unit.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (!/^(\d+\s*(ms|s|min|m|h|d|w)\s*)+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)\s*(ms|s|min|m|h|d|w)/g)) {
    total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  }
  return total;
}

/**
 * `--since`: a duration back from now (`24h`, `7d`) or an ISO date or time (`2025-06-01`,
 * `2025-06-01T10:00:00Z`). Returns epoch ms; throws a usage error for anything else or for a
 * time in the future.
 */
export function parseSince(text: string, nowMs: number): number {
  const duration = parseDuration(text);
  if (duration !== undefined) {
    if (duration <= 0) throw new UsageError(`--since must be longer than 0, got "${text}"`);
    return nowMs - duration;
  }
  // Only ISO shapes: Date.parse accepts much else, with surprising results.
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (!Number.isNaN(ms)) {
      if (ms > nowMs) throw new UsageError(`--since is in the future: ${text}`);
      return ms;
    }
  }
  throw new UsageError(
    `--since takes a duration (30m, 24h, 7d) or an ISO date or time (2025-06-01, 2025-06-01T10:00Z), got "${text}"`,
  );
}

/**
 * A span of time for people: `12 s`, `3 min`, `2 h 15 min`, `21 h`, `3 d`. Rounded down, because
 * "time left" must never promise more than there is.
 */
export function formatSpan(ms: number): string {
  const span = Math.abs(ms);
  if (span < MINUTE_MS) return `${Math.floor(span / SECOND_MS)} s`;
  if (span < HOUR_MS) return `${Math.floor(span / MINUTE_MS)} min`;
  if (span < 10 * HOUR_MS) {
    const hours = Math.floor(span / HOUR_MS);
    const minutes = Math.floor((span % HOUR_MS) / MINUTE_MS);
    return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  }
  if (span < 72 * HOUR_MS) return `${Math.floor(span / HOUR_MS)} h`;
  return `${Math.floor(span / DAY_MS)} d`;
}

/** `3 min ago`, `in 21 h`, or `just now` within a second either way. */
export function relativeTime(thenMs: number, nowMs: number): string {
  const delta = thenMs - nowMs;
  if (Math.abs(delta) < SECOND_MS) return 'just now';
  return delta < 0 ? `${formatSpan(delta)} ago` : `in ${formatSpan(delta)}`;
}

/** A latency: `86 ms`, `1.2 s`, `3 min 5 s`, `2 h 15 min`. */
export function formatLatency(ms: number): string {
  if (ms < SECOND_MS) return `${Math.round(ms)} ms`;
  if (ms < MINUTE_MS) return `${(ms / SECOND_MS).toFixed(1)} s`;
  if (ms < HOUR_MS) {
    const seconds = Math.floor((ms % MINUTE_MS) / SECOND_MS);
    return `${Math.floor(ms / MINUTE_MS)} min${seconds === 0 ? '' : ` ${seconds} s`}`;
  }
  return formatSpan(ms);
}

/** Epoch ms of an ISO time attribute, or undefined when absent or unreadable. */
export function msOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
