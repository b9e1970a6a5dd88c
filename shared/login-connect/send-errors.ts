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
  /** The Page token is invalid: the Page pauses until an operator replaces it in the secret. */
  | 'token_invalid'
  /**
   * 10/1893063 (Messenger changelog, 25 June 2026): the Page is temporarily restricted from
   * sending. Not the person's fault and not permanent: the Page pauses and its opt-ins wait.
   */
  | 'page_restricted'
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
  /** The socket error's code (`ECONNREFUSED`, `ECONNRESET`…), when there was one. */
  networkCode?: string;
}

/**
 * Socket errors raised before a request can have reached Graph: nothing was sent. Any other
 * failure without an HTTP answer (a timeout, a connection reset mid-request) may have come after
 * Graph accepted the message, and Graph has no idempotency key to ask it.
 */
const NOT_SENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'CERT_HAS_EXPIRED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when a failed call may nonetheless have delivered the message (see `NOT_SENT_NETWORK_CODES`). */
export function outcomeUnknown(failure: SendFailure): boolean {
  // A 502/504 without Graph's error body came from an edge proxy that gave up waiting: Graph
  // itself may have sent the message.
  if (failure.network === undefined)
    return (failure.httpStatus === 502 || failure.httpStatus === 504) && failure.code === undefined;
  // Any other HTTP answer, even an error, means Graph decided: an error status is not a send.
  if (failure.httpStatus !== undefined) return false;
  if (failure.network === 'timeout') return true;
  return failure.networkCode === undefined || !NOT_SENT_NETWORK_CODES.has(failure.networkCode);
}

/**
 * What to do when a send's outcome is unknown (a Send API call with no answer, or an attempt whose
 * process died mid-call): `retry` sends again (at least once: a second message is possible, never
 * none while the window is open); `hold` never sends again (at most once: the opt-in ends as
 * `unknown` for an operator to resolve).
 */
export type UnknownOutcomePolicy = 'retry' | 'hold';
export const UNKNOWN_OUTCOME_POLICIES: readonly UnknownOutcomePolicy[] = ['retry', 'hold'];

const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 613, 1200, 80001, 80006]);

/** 10/1893063: "the Page is temporarily restricted from sending messages" (added 25 June 2026). */
export const PAGE_RESTRICTED_SUBCODE = 1893063;

/**
 * Rate limits (reference 7.5): 4 (app), 17 (user), 32 (Pages, user token), 613 (Messenger send
 * limit), 80001 (Page BUC), 80006 (Messenger BUC), and HTTP 429. Transient, and about the Page (or
 * the app), not the person: the Page backs off as a whole.
 */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80001, 80006]);

export function isRateLimit(failure: SendFailure): boolean {
  if (failure.network !== undefined && failure.httpStatus === undefined) return false;
  return (
    (failure.code !== undefined && RATE_LIMIT_CODES.has(failure.code)) ||
    (failure.code === undefined && failure.httpStatus === 429)
  );
}

/** Why a whole Page stops sending for a while. */
export type PagePauseReason = 'page_restricted' | 'token_invalid' | 'rate_limited';
export const PAGE_PAUSE_REASONS: readonly PagePauseReason[] = [
  'page_restricted',
  'token_invalid',
  'rate_limited',
];

/** The failures that are the Page's rather than the person's, and pause the Page. */
export function pageProblem(failure: SendFailure): PagePauseReason | undefined {
  const kind = classifySendFailure(failure);
  if (kind === 'page_restricted' || kind === 'token_invalid') return kind;
  if (kind === 'transient' && isRateLimit(failure)) return 'rate_limited';
  return undefined;
}

/** Pairs `code/subcode` that are permanent although the code alone is transient. */
const PERMANENT_PAIRS = new Set(['2/2018344']);

const OPTED_OUT_PAIRS = new Set(['200/1545041', '10/2018108']);

export function classifySendFailure(failure: SendFailure): FailureKind {
  if (failure.network !== undefined) return 'transient';
  const { code, subcode, httpStatus } = failure;
  const pair = `${code}/${subcode}`;
  if (code === 10 && subcode === 2018278) return 'window_closed';
  if (code === 10 && subcode === PAGE_RESTRICTED_SUBCODE) return 'page_restricted';
  if (code === 551 || OPTED_OUT_PAIRS.has(pair)) return 'opted_out';
  if (code === 190) return 'token_invalid';
  if (PERMANENT_PAIRS.has(pair)) return 'permanent';
  if (code !== undefined && TRANSIENT_CODES.has(code)) return 'transient';
  if (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429)) return 'transient';
  return 'permanent';
}
