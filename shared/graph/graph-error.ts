import { isObject } from '../json';
import type { SendFailure } from '../login-connect/send-errors';
import { redactSecrets } from '../redact';

/** Graph sends its codes as numbers; a digit string is read as one too. */
const code = (v: unknown) =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

/**
 * A Graph answer that was not a success, as a failure: its HTTP status, and from its `error`
 * object the code, subcode, type, trace id and message. The message is cut to 500 characters and
 * has `known` (the call's token and secrets: Graph echoes tokens) and anything shaped like a
 * secret redacted.
 */
export function graphFailure(httpStatus: number, json: unknown, known: string[]): SendFailure {
  const error = isObject(json) && isObject(json.error) ? json.error : {};
  const errorCode = code(error.code);
  const subcode = code(error.error_subcode);
  return {
    httpStatus,
    ...(errorCode !== undefined ? { code: errorCode } : {}),
    ...(subcode !== undefined ? { subcode } : {}),
    ...(typeof error.type === 'string' ? { type: error.type } : {}),
    ...(typeof error.fbtrace_id === 'string' ? { fbtraceId: error.fbtrace_id } : {}),
    message:
      typeof error.message === 'string'
        ? redactSecrets(error.message, known).slice(0, 500)
        : `HTTP ${httpStatus}`,
  };
}
