import { createHash } from 'node:crypto';
import { isWellFormed, toWellFormed } from '../text';

/**
 * Safe handling of JSON values of any shape. `JSON.parse` builds values nested a million deep
 * without complaint, but `JSON.stringify`, the DynamoDB marshaller and every recursive walk throw
 * `RangeError` on them; DynamoDB refuses more (documents nested deeper than 32, numbers it cannot
 * represent, text that is not UTF-8). Everything here walks with its own stack or a depth cap, so
 * it never throws on what `JSON.parse` returned.
 */

/** How deep and how large an event payload may be to travel and be stored as received. */
export const PAYLOAD_LIMITS = {
  /** DynamoDB refuses documents nested deeper than 32; the payload sits one level down. */
  maxDepth: 20,
  /** Bytes of its JSON with non-ASCII escaped (how it travels in a queue message). */
  maxBytes: 64_000,
};

/** Why a value cannot travel and be stored as it is. */
export type UnfitReason =
  | 'too_deep'
  | 'too_large'
  | 'ill_formed_text'
  | 'number_out_of_range'
  | 'empty_key'
  | 'reserved_key';

/**
 * Keys the DynamoDB marshaller misreads: it types a map by `value.constructor.name`, so an own
 * `constructor` key makes it throw (or write a Set, a number, binary...), and it assigns
 * `__proto__` as a prototype, silently dropping it.
 */
const RESERVED_KEYS = new Set(['constructor', '__proto__']);

/** DynamoDB numbers: at most 38 digits, magnitude 1e-130 to 1e126; JS adds safe integers. */
function isStorableNumber(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const magnitude = Math.abs(n);
  return magnitude <= Number.MAX_SAFE_INTEGER && (magnitude === 0 || magnitude >= 1e-130);
}

/** The length of `text` as a JSON string with every non-ASCII character escaped (`\uXXXX`). */
function escapedLength(text: string, stopAbove: number): number {
  let length = text.length + 2;
  for (let i = 0; i < text.length && length <= stopAbove; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0x7f || c < 0x20) length += 5;
    else if (c === 0x22 || c === 0x5c) length += 1;
  }
  return length;
}

/**
 * Why `value` (anything `JSON.parse` returns) cannot travel in a queue message and be stored in
 * DynamoDB as it is, or undefined when it can. Walks with its own stack and stops at the first
 * problem, so a value a million deep or a megabyte wide costs no more than the limits.
 */
export function unfitReason(
  value: unknown,
  limits: { maxDepth: number; maxBytes: number } = PAYLOAD_LIMITS,
): UnfitReason | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let bytes = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current === 'string') {
      bytes += escapedLength(current, limits.maxBytes - bytes);
      if (bytes > limits.maxBytes) return 'too_large';
      if (!isWellFormed(current)) return 'ill_formed_text';
    } else if (typeof current === 'number') {
      bytes += 24;
      if (!isStorableNumber(current)) return 'number_out_of_range';
    } else if (current !== null && typeof current === 'object') {
      if (depth >= limits.maxDepth) return 'too_deep';
      if (Array.isArray(current)) {
        bytes += 2 + current.length;
        if (bytes > limits.maxBytes) return 'too_large';
        for (const element of current) stack.push({ value: element, depth: depth + 1 });
      } else {
        const keys = Object.keys(current);
        bytes += 2 + keys.length;
        if (bytes > limits.maxBytes) return 'too_large';
        for (const key of keys) {
          if (key === '') return 'empty_key';
          if (RESERVED_KEYS.has(key)) return 'reserved_key';
          bytes += escapedLength(key, limits.maxBytes - bytes) + 1;
          if (bytes > limits.maxBytes) return 'too_large';
          if (!isWellFormed(key)) return 'ill_formed_text';
          stack.push({ value: (current as Record<string, unknown>)[key], depth: depth + 1 });
        }
      }
    } else {
      bytes += 5;
    }
    if (bytes > limits.maxBytes) return 'too_large';
  }
  return undefined;
}

/**
 * SHA-256 (hex) and UTF-8 size of `value`'s JSON, exactly as `JSON.stringify` would write it,
 * written with its own stack: any depth, any size.
 */
export function digestJson(value: unknown): { sha256: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let pending = '';
  const flush = () => {
    hash.update(pending, 'utf8');
    bytes += Buffer.byteLength(pending, 'utf8');
    pending = '';
  };
  const emit = (text: string) => {
    pending += text;
    if (pending.length >= 65_536) flush();
  };
  type Work = { value: unknown } | { text: string };
  const stack: Work[] = [{ value }];
  while (stack.length > 0) {
    const work = stack.pop() as Work;
    if ('text' in work) {
      emit(work.text);
      continue;
    }
    const current = work.value;
    if (Array.isArray(current)) {
      emit('[');
      stack.push({ text: ']' });
      for (let i = current.length - 1; i >= 0; i -= 1) {
        stack.push({ value: current[i] });
        if (i > 0) stack.push({ text: ',' });
      }
    } else if (current !== null && typeof current === 'object') {
      emit('{');
      stack.push({ text: '}' });
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i] as string;
        stack.push({ value: (current as Record<string, unknown>)[key] });
        stack.push({ text: `${JSON.stringify(key)}:` });
        if (i > 0) stack.push({ text: ',' });
      }
    } else {
      emit(JSON.stringify(current) ?? 'null');
    }
  }
  flush();
  return { sha256: hash.digest('hex'), bytes };
}

const EXCERPT_DEPTH = 6;
const EXCERPT_NODES = 200;
const EXCERPT_STRING = 200;
const EXCERPT_ENTRIES = 20;

/**
 * The start of `value` as JSON text of at most `maxChars`, for an operator to recognise it:
 * nesting cut at 6 levels, at most 20 entries per array or object and 200 characters per string,
 * 200 values in all, text made well-formed. Never the whole of a large value.
 */
export function excerptJson(value: unknown, maxChars: number): string {
  let budget = EXCERPT_NODES;
  const cut = (text: string) =>
    text.length > EXCERPT_STRING ? `${text.slice(0, EXCERPT_STRING)}…` : text;
  const prune = (current: unknown, depth: number): unknown => {
    budget -= 1;
    if (typeof current === 'string') return toWellFormed(cut(current));
    if (typeof current === 'number') return Number.isFinite(current) ? current : String(current);
    if (current === null || typeof current !== 'object') return current;
    if (depth >= EXCERPT_DEPTH || budget <= 0) return Array.isArray(current) ? ['…'] : { '…': '…' };
    if (Array.isArray(current)) {
      const kept = current.slice(0, EXCERPT_ENTRIES).map((element) => prune(element, depth + 1));
      if (current.length > EXCERPT_ENTRIES) kept.push(`… ${current.length - EXCERPT_ENTRIES} more`);
      return kept;
    }
    const keys = Object.keys(current);
    // fromEntries defines own properties, so a `__proto__` key stays a key.
    const kept = Object.fromEntries(
      keys
        .slice(0, EXCERPT_ENTRIES)
        .map((key) => [
          toWellFormed(cut(key)),
          prune((current as Record<string, unknown>)[key], depth + 1),
        ]),
    );
    if (keys.length > EXCERPT_ENTRIES) kept['…'] = `${keys.length - EXCERPT_ENTRIES} more keys`;
    return kept;
  };
  const text = JSON.stringify(prune(value, 0)) ?? 'null';
  return text.length > maxChars ? toWellFormed(`${text.slice(0, maxChars - 1)}…`) : text;
}

/** What stands in for a payload that cannot travel or be stored as received. */
export interface BoundedPayload {
  truncated: true;
  reason: UnfitReason;
  /** SHA-256 (hex) and UTF-8 size of the payload's JSON as received. */
  sha256: string;
  bytes: number;
  /** Its start, for recognition (see `excerptJson`). */
  excerpt: string;
}

export const PAYLOAD_EXCERPT_CHARS = 2_000;

/** `value` itself when it fits `PAYLOAD_LIMITS`, otherwise its bounded stand-in. */
export function boundedPayload(value: unknown): unknown {
  const reason = unfitReason(value);
  if (reason === undefined) return value;
  const bounded: BoundedPayload = {
    truncated: true,
    reason,
    ...digestJson(value),
    excerpt: excerptJson(value, PAYLOAD_EXCERPT_CHARS),
  };
  return bounded;
}
