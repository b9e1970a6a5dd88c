/**
 * What a failed Send API call means for a first message. The codes come from Meta's error
 * reference (see the README's error table); anything not listed is a permanent failure.
 */
export type FailureKind =
  /** Worth retrying with backoff while the window is open. */
  | 'transient'
  /** Facebook says the window has closed: `expired`. */
  | 'window_closed'
  /** The person is not receiving messages from this Page: `opted_out`, and suppress them. */
  | 'opted_out'
  /** The Page token is invalid: `failed`, loudly, until an operator replaces it. */
  | 'token_invalid'
  /** Anything else: `failed` with the reason. */
  | 'permanent';

/** A failed Send API call as observed: HTTP status and Graph's error object, or a network fault. */
export interface SendFailure {
  httpStatus?: number;
  code?: number;
  subcode?: number;
  type?: string;
  message: string;
  fbtraceId?: string;
  /** Set when no HTTP answer came back. */
  network?: 'timeout' | 'error';
}

const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 613, 1200, 80001, 80006]);

/** Pairs `code/subcode` that are permanent although the code alone is transient. */
const PERMANENT_PAIRS = new Set(['2/2018344']);

const OPTED_OUT_PAIRS = new Set(['200/1545041', '10/2018108']);

export function classifySendFailure(failure: SendFailure): FailureKind {
  if (failure.network !== undefined) return 'transient';
  const { code, subcode, httpStatus } = failure;
  const pair = `${code}/${subcode}`;
  if (code === 10 && subcode === 2018278) return 'window_closed';
  if (code === 551 || OPTED_OUT_PAIRS.has(pair)) return 'opted_out';
  if (code === 190) return 'token_invalid';
  if (PERMANENT_PAIRS.has(pair)) return 'permanent';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429)) return 'transient';
  return 'permanent';
}
