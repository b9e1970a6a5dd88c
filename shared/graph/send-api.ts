import { createHmac } from 'node:crypto';
import { redactSecrets } from '../redact';
import { graphFailure } from './graph-error';
import type { GraphConfig, SendMessage, SendOutcome } from './ports';
import { parseUsageHeaders } from './usage';

/** The request body's type, for those that build one (it is the port's). */
export type { SendApiBody } from './ports';

/** `appsecret_proof`: hex HMAC-SHA256 of the access token keyed with the App Secret. */
export function appSecretProof(accessToken: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

/**
 * A Send API client: `POST {baseUrl}/{version}/me/messages`. The Page token travels in the JSON
 * body, never in the URL, and neither the URL nor the body is logged. `appsecret_proof` is in the
 * query string because Graph reliably reads it there; it is useless without the token.
 */
export function sendApiClient(config: GraphConfig, fetchImpl: typeof fetch = fetch): SendMessage {
  const base = config.baseUrl.replace(/\/+$/, '');
  const endpoint = `${base}/${config.version}/me/messages`;
  return async ({ accessToken, appSecret, body }) => {
    const url = `${endpoint}?appsecret_proof=${appSecretProof(accessToken, appSecret)}`;
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, access_token: accessToken }),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (error) {
      // Duck-typed: fetch's DOMException is not always an `Error` of this realm.
      const name = (error as { name?: unknown } | null)?.name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      const code = networkCode(error);
      return {
        ok: false,
        failure: {
          network: timedOut ? 'timeout' : 'error',
          ...(!timedOut && code !== undefined ? { networkCode: code } : {}),
          message: timedOut
            ? `no answer within ${config.timeoutMs} ms`
            : redactSecrets(networkMessage(error), [accessToken, appSecret]),
        },
      };
    }
    return readResponse(response, [accessToken, appSecret]);
  };
}

/** `known`: the secrets of this call, never to appear in an error message (Graph echoes tokens). */
async function readResponse(response: Response, known: string[]): Promise<SendOutcome> {
  const parsed = parseUsageHeaders((name) => response.headers.get(name));
  const usage = parsed ? { usage: parsed } : {};
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    // Graph answered 2xx and the body was lost on the way: the message went out, its id is unknown.
    if (response.ok) return { ok: true, httpStatus: response.status, ...usage };
    return {
      ok: false,
      failure: {
        network: 'error',
        httpStatus: response.status,
        message: redactSecrets(networkMessage(error), known),
      },
      ...usage,
    };
  }
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (response.ok) {
    return {
      ok: true,
      httpStatus: response.status,
      ...(typeof json?.message_id === 'string' ? { messageId: json.message_id } : {}),
      ...(typeof json?.recipient_id === 'string' ? { recipientId: json.recipient_id } : {}),
      ...usage,
    };
  }
  return {
    ok: false,
    failure: graphFailure(response.status, json, known),
    ...usage,
  };
}

/** The socket error code fetch wraps in `cause` (undici), if any. */
function networkCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function networkMessage(error: unknown): string {
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { code?: unknown } };
  const text = typeof message === 'string' && message !== '' ? message : 'network error';
  return typeof cause?.code === 'string' ? `${text} (${cause.code})` : text;
}
