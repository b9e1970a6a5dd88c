/**
 * The Login Connect window: the first message may be sent only until the opt-in event's own
 * timestamp plus 24 hours. DynamoDB TTL deletes late, so this is always decided here, in code.
 */
export const FIRST_MESSAGE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Epoch ms at which the first-message window of an opt-in closes. */
export function windowEndsAt(optinAtMs: number): number {
  return optinAtMs + FIRST_MESSAGE_WINDOW_MS;
}

/** True while a first message to an opt-in made at `optinAtMs` is still allowed at `nowMs`. */
export function isInsideWindow(optinAtMs: number, nowMs: number): boolean {
  return nowMs < windowEndsAt(optinAtMs);
}

/** The latest time a JS Date can hold (year 275760); beyond it `toISOString()` throws. */
const MAX_DATE_MS = 8.64e15;

/**
 * An event's time, read leniently (receipts' watermarks, messages' timestamps; never an
 * opt-in's, which the strict contract in messages.ts reads). Facebook documents webhook
 * timestamps in milliseconds, but its own examples show seconds (`1234567890`) and strings. Read
 * all three; a value below 1e11 cannot be a plausible ms time (it is 1973) but is a plausible
 * seconds time (until year 5138).
 * Returns undefined for anything that is not a positive finite number a Date can hold.
 */
export function normalizeTimestamp(raw: unknown): number | undefined {
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  const ms = Math.round(value < 1e11 ? value * 1000 : value);
  return ms <= MAX_DATE_MS ? ms : undefined;
}
